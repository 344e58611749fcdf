// Orders: the shop's orders newest first, filtered by status, date, channel and customer
// type, a page at a time (keyset pagination); and one order with its lines, refunds,
// transactions and fulfillments.
import { ApiError, get, query } from "../api.js";
import { count, el, money, table } from "../format.js";

const FINANCIAL = ["pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided", "expired"];
const FULFILLMENT = ["fulfilled", "partial", "restocked", "unfulfilled"];
const TYPES = ["new", "returning"];
const PAGE = 25; // rows a page shows unless the address says (limit=1..100)

const day = (stamp) => (stamp || "").slice(0, 10);

function orderRows(items) {
  return table("Orders, newest first", [
    ["Order", (o) => el("a", { href: `/app/orders/${o.id}`, text: o.name || `#${o.id}` })],
    ["Created", (o) => day(o.created_at)],
    ["Customer", (o) => o.email || "guest"],
    ["Channel", (o) => o.source_name || ""],
    ["Payment", (o) => (o.cancelled_at ? "cancelled" : o.financial_status || "")],
    ["Fulfillment", (o) => o.fulfillment_status || "unfulfilled"],
    ["Total", (o) => money(o.total_price), { numeric: true }],
    ["Refunded", (o) => money(o.total_refunded), { numeric: true }],
  ], items, "No orders match.");
}

function choice(id, label, values, chosen) {
  return [
    el("label", { for: id, text: label }),
    el("select", { id, name: id }, el("option", { value: "", text: "any" }), values.map((v) => el("option", { value: v, selected: v === chosen, text: v.replaceAll("_", " ") }))),
  ];
}

export async function ordersPage(ctx) {
  const params = new URLSearchParams(location.search);
  const pick = (name, allowed) => (allowed.includes(params.get(name)) ? params.get(name) : "");
  const dateOf = (name) => (/^\d{4}-\d{2}-\d{2}$/.test(params.get(name) || "") ? params.get(name) : "");
  const filters = {
    financial_status: pick("financial_status", FINANCIAL),
    fulfillment_status: pick("fulfillment_status", FULFILLMENT),
    customer_type: pick("customer_type", TYPES),
    channel: (params.get("channel") || "").slice(0, 255),
    from: dateOf("from"),
    to: dateOf("to"),
  };
  // Dates are the shop's days: from its midnight to the next one's (the API takes instants).
  const asked = {
    sort: "-created_at",
    limit: Math.min(100, Math.max(1, Number.parseInt(params.get("limit"), 10) || PAGE)),
    financial_status: filters.financial_status,
    fulfillment_status: filters.fulfillment_status,
    customer_type: filters.customer_type,
    channel: filters.channel,
    created_at_min: filters.from ? `${filters.from}T00:00:00` : undefined,
    created_at_max: filters.to ? `${filters.to}T23:59:59.999999` : undefined,
  };
  const first = await get("/api/orders", asked);
  const list = el("div", {}, orderRows(first.items));
  let cursor = first.next_cursor;
  const more = el("button", { type: "button", hidden: !cursor, text: "Older orders" });
  more.addEventListener("click", async () => {
    more.disabled = true;
    const next = await get("/api/orders", { ...asked, cursor });
    cursor = next.next_cursor;
    list.querySelector("tbody").append(...orderRows(next.items).querySelectorAll("tbody tr"));
    more.hidden = !cursor;
    more.disabled = false;
  });
  const form = el(
    "form",
    { class: "filters", "aria-label": "Filters" },
    ...choice("financial_status", "Payment", FINANCIAL, filters.financial_status),
    ...choice("fulfillment_status", "Fulfillment", FULFILLMENT, filters.fulfillment_status),
    ...choice("customer_type", "Customer", TYPES, filters.customer_type),
    el("label", { for: "channel", text: "Channel" }),
    el("input", { id: "channel", name: "channel", value: filters.channel, placeholder: "any (web, pos, …)" }),
    el("label", { for: "orders-from", text: "From" }),
    el("input", { id: "orders-from", name: "from", type: "date", value: filters.from }),
    el("label", { for: "orders-to", text: "To" }),
    el("input", { id: "orders-to", name: "to", type: "date", value: filters.to }),
    el("button", { type: "submit", text: "Apply" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    ctx.navigate(`/app/orders?${query(data)}`);
  });
  const csv = { ...asked, limit: undefined, format: "csv" };
  return el(
    "div",
    { class: "orders" },
    el("h1", { text: "Orders" }),
    el("p", { class: "zone", text: "Newest first, by when they were created; dates are UTC days." }),
    form,
    el("section", { class: "panel", "aria-label": "Orders" }, list, more),
    el("a", { class: "csv", href: `/api/orders?${query(csv)}`, download: true, text: "Download the matching orders (CSV)" }),
  );
}

export async function orderPage(ctx, id) {
  let order;
  try {
    order = await get(`/api/orders/${id}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return el("p", { text: "No such order." });
    throw error;
  }
  const facts = [
    ["Placed", day(order.processed_at || order.created_at)],
    ["Customer", order.email || "guest"],
    ["Channel", order.source_name || ""],
    ["Payment", order.cancelled_at ? `cancelled (${order.cancel_reason || "no reason"})` : order.financial_status || ""],
    ["Fulfillment", order.fulfillment_status || "unfulfilled"],
    ["Subtotal", money(order.subtotal_price)],
    ["Discounts", money(order.total_discounts)],
    ["Shipping", money(order.total_shipping_price)],
    ["Taxes", money(order.total_tax)],
    ["Total", money(order.total_price)],
    ["Refunded", money(order.total_refunded)],
  ];
  return el(
    "div",
    { class: "order" },
    el("p", {}, el("a", { href: "/app/orders", text: "← Orders" })),
    el("h1", { text: `Order ${order.name || order.id}` }),
    el("dl", { class: "facts" }, facts.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { "data-fact": term, text: value })])),
    el("h2", { text: "Line items" }),
    table("The order's lines", [
      ["Item", (l) => l.title || l.sku || `#${l.id}`],
      ["Vendor", (l) => l.vendor || ""],
      ["Quantity", (l) => count(l.quantity), { numeric: true }],
      ["Unit price", (l) => money(l.price), { numeric: true }],
      ["Discounts", (l) => money(l.discount_allocated), { numeric: true }],
    ], order.line_items, "No lines."),
    el("h2", { text: "Refunds" }),
    table("The order's refunds", [
      ["Processed", (r) => day(r.processed_at || r.created_at)],
      ["Note", (r) => r.note || ""],
      ["Items", (r) => count(r.refund_line_items.reduce((n, i) => n + (i.quantity || 0), 0)), { numeric: true }],
      ["Refunded", (r) => money(r.total_refunded), { numeric: true }],
    ], order.refunds, "No refunds."),
    el("h2", { text: "Transactions" }),
    table("The order's transactions", [
      ["When", (t) => day(t.processed_at || t.created_at)],
      ["Kind", (t) => t.kind || ""],
      ["Status", (t) => t.status || ""],
      ["Gateway", (t) => t.gateway || ""],
      ["Amount", (t) => `${t.amount ?? "–"} ${t.currency || ""}`, { numeric: true }],
    ], order.transactions, "No transactions."),
    el("h2", { text: "Fulfillments" }),
    table("The order's fulfillments", [
      ["Created", (f) => day(f.created_at)],
      ["Status", (f) => f.status || ""],
      ["Shipment", (f) => f.shipment_status || ""],
      ["Carrier", (f) => f.tracking_company || ""],
      ["Tracking", (f) => (f.tracking_numbers || []).join(", ")],
    ], order.fulfillments, "Not fulfilled yet."),
  );
}
