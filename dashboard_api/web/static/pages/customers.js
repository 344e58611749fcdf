// Customers: the lifetime figures of the last analytics recompute, sortable and by RFM
// segment, and one customer's page.
import { ApiError, get, query } from "../api.js";
import { count, el, money, percent, table } from "../format.js";
import { todayIn } from "../range.js";

const SORTS = [
  ["-net_spend", "Net spend, highest first"],
  ["-orders", "Orders, most first"],
  ["-last_order_at", "Last order, newest first"],
  ["first_order_at", "First order, oldest first"],
];
const SEGMENTS = [
  "champions", "loyal", "active", "needs_attention", "promising", "new", "at_risk",
  "previously_loyal", "almost_lost", "dormant", "prospects",
];

function customerRows(items) {
  return table("Customers", [
    ["Customer", (c) => el("a", { href: `/app/customers/${c.id}`, text: c.name || c.email || `#${c.id}` })],
    ["Segment", (c) => c.segment.replaceAll("_", " ")],
    ["Orders", (c) => count(c.orders), { numeric: true }],
    ["Net spend", (c) => money(c.net_spend), { numeric: true }],
    ["Last order", (c) => (c.last_order_at || "").slice(0, 10)],
  ], items, "No customers in this segment.");
}

function segmentGrid(rfm, chosen) {
  const cells = rfm.segments.map((s) =>
    el(
      "a",
      {
        class: `segment${s.segment === chosen ? " chosen" : ""}`,
        href: `/app/customers?segment=${s.segment}`,
        "data-segment": s.segment,
        "aria-current": s.segment === chosen ? "true" : null,
      },
      el("strong", { text: s.segment.replaceAll("_", " ") }),
      el("span", { text: `${count(s.customers)} customers` }),
      el("span", { text: `${money(s.net_spend)} net spend` }),
      el("span", { text: `${percent(s.share)} of customers` }),
    ),
  );
  return el(
    "section",
    { class: "panel", "aria-labelledby": "rfm-title" },
    el("h2", { id: "rfm-title", text: `RFM segments (as of ${rfm.as_of || "no recompute yet"})` }),
    el("div", { class: "segments" }, cells),
  );
}

function cohortHeatmap(cohorts) {
  const width = Math.max(0, ...cohorts.cohorts.map((c) => c.months.length));
  const head = el("tr", {}, el("th", { scope: "col", text: "Cohort" }), el("th", { scope: "col", class: "num", text: "Customers" }),
    Array.from({ length: width }, (_, m) => el("th", { scope: "col", class: "num", text: `M${m}` })));
  const rows = cohorts.cohorts.map((c) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", text: c.month.slice(0, 7) }),
      el("td", { class: "num", text: count(c.customers) }),
      c.months.map((cell) => {
        const share = cell.retention ?? 0;
        // At most 60% of the accent under dark text: at least 5:1 contrast (WCAG AA) in every cell.
        const style = `background: rgba(43, 87, 151, ${(0.05 + 0.55 * share).toFixed(2)})`;
        return el("td", { class: "num heat", style, title: `${count(cell.customers)} customers, ${money(cell.net_revenue)} net`, text: percent(cell.retention) });
      }),
    ),
  );
  return el(
    "section",
    { class: "panel", "aria-labelledby": "cohorts-title" },
    el("h2", { id: "cohorts-title", text: "Monthly cohorts: share of each month's new customers who ordered again, by months since" }),
    el("p", { class: "zone", text: `Returning customer rate over the range: ${percent(cohorts.returning_customers.rate)}.` }),
    el("table", { class: "heatmap" }, el("caption", { text: "Retention by cohort (first order month) and months since" }), el("thead", {}, head), el("tbody", {}, rows)),
  );
}

function twelveMonths(tz) {
  const today = todayIn(tz);
  const [y, m] = today.split("-").map(Number);
  const start = new Date(Date.UTC(y, m - 1 - 11, 1)).toISOString().slice(0, 10);
  return { from: start, to: today };
}

export async function customersPage(ctx) {
  const params = new URLSearchParams(location.search);
  const sort = SORTS.some(([v]) => v === params.get("sort")) ? params.get("sort") : SORTS[0][0];
  const segment = SEGMENTS.includes(params.get("segment")) ? params.get("segment") : "";
  const asked = { sort, segment, limit: 50 };
  const [page, rfm, cohorts] = await Promise.all([
    get("/api/analytics/customers", asked),
    get("/api/analytics/rfm"),
    get("/api/analytics/cohorts", twelveMonths(ctx.me.tenant.timezone)),
  ]);
  const choose = (name, value) => ctx.navigate(`/app/customers?${query({ sort, segment, [name]: value })}`);
  const list = el("div", { class: "list" }, customerRows(page.items));
  let cursor = page.next_cursor;
  const more = el("button", { type: "button", hidden: !cursor, text: "More customers" });
  more.addEventListener("click", async () => {
    const next = await get("/api/analytics/customers", { ...asked, cursor });
    cursor = next.next_cursor;
    list.querySelector("tbody").append(...customerRows(next.items).querySelectorAll("tbody tr"));
    more.hidden = !cursor;
  });
  const select = (id, label, options, value, name) =>
    el(
      "span",
      {},
      el("label", { for: id, text: label }),
      el(
        "select",
        { id, onchange: (e) => choose(name, e.target.value) },
        options.map(([v, text]) => el("option", { value: v, selected: v === value, text })),
      ),
    );
  return el(
    "div",
    { class: "customers" },
    el("h1", { text: "Customers" }),
    segmentGrid(rfm, segment),
    cohortHeatmap(cohorts),
    el("h2", { text: "Customer list" }),
    el(
      "div",
      { class: "filters" },
      select("sort", "Sort", SORTS, sort, "sort"),
      select("segment", "RFM segment", [["", "Every segment"], ...SEGMENTS.map((s) => [s, s.replaceAll("_", " ")])], segment, "segment"),
    ),
    page.items.length ? null : el("p", { text: "No customer figures yet: they appear after the analytics recompute." }),
    list,
    more,
    el("a", { class: "csv", href: `/api/analytics/customers?${query({ sort, segment, format: "csv" })}`, download: true, text: "Download every customer (CSV)" }),
  );
}

export async function customerPage(ctx, id) {
  let customer;
  try {
    customer = await get(`/api/customers/${id}/analytics`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      return el("p", { text: "No such customer, or not yet in the analytics recompute." });
    }
    throw error;
  }
  const facts = [
    ["Orders", count(customer.orders)],
    ["Gross spend", money(customer.gross_spend)],
    ["Refunded", money(customer.refunded)],
    ["Net spend (historical CLV)", money(customer.net_spend)],
    ["Average order value", money(customer.average_order_value)],
    ["First order", (customer.first_order_at || "–").slice(0, 10)],
    ["Last order", (customer.last_order_at || "–").slice(0, 10)],
    ["RFM segment", customer.segment.replaceAll("_", " ")],
  ];
  return el(
    "div",
    { class: "customer" },
    el("p", {}, el("a", { href: "/app/customers", text: "← Customers" })),
    el("h1", { text: customer.name || customer.email || `Customer #${customer.id}` }),
    el("p", { class: "zone", text: `${customer.email || "no email"} · figures as of ${customer.as_of}` }),
    el("dl", { class: "facts" }, facts.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { "data-fact": term, text: value })])),
    el("h2", { text: "Orders" }),
    table("The customer's orders", [
      ["Order", (o) => o.name || o.id],
      ["Placed", (o) => o.placed_at.slice(0, 10)],
      ["Total", (o) => money(o.total_price), { numeric: true }],
      ["Refunded", (o) => money(o.refunded), { numeric: true }],
      ["Type", (o) => (o.cancelled_at ? "cancelled" : o.customer_type)],
    ], customer.order_history),
  );
}
