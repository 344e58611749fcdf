// Products: the products report for a range, by product, variant, category or vendor, with
// category and vendor filters, sell-through from inventory, and CSV.
import { get, query } from "../api.js";
import { count, el, money, percent, table } from "../format.js";
import { chosenRange, rangePicker } from "../range.js";

const GROUPS = [
  ["product", "Product"],
  ["variant", "Variant"],
  ["product_type", "Category (product type)"],
  ["vendor", "Vendor"],
];

function name(row, group) {
  if (group === "product_type") return row.product_type || "No category";
  if (group === "vendor") return row.vendor || "No vendor";
  const title = row.title || "Custom line";
  return group === "variant" && row.variant_title ? `${title} – ${row.variant_title}` : title;
}

export async function productsPage(ctx) {
  const tz = ctx.me.tenant.timezone;
  const params = new URLSearchParams(location.search);
  const range = chosenRange(params, tz);
  const group = GROUPS.some(([g]) => g === params.get("group_by")) ? params.get("group_by") : "product";
  const filters = { product_type: params.get("product_type") || "", vendor: params.get("vendor") || "" };
  const asked = { from: range.from, to: range.to, group_by: group, ...filters };
  const report = await get("/api/analytics/products", { ...asked, limit: 100 });
  const here = (changes) => ctx.navigate(`/app/products?${query({ ...asked, preset: range.preset, ...changes })}`);

  const form = el(
    "form",
    { class: "filters", "aria-label": "Filters" },
    el("label", { for: "group_by", text: "Rows" }),
    el("select", { id: "group_by", name: "group_by" }, GROUPS.map(([g, label]) => el("option", { value: g, selected: g === group, text: label }))),
    el("label", { for: "product_type", text: "Category" }),
    el("input", { id: "product_type", name: "product_type", value: filters.product_type, placeholder: "any" }),
    el("label", { for: "vendor", text: "Vendor" }),
    el("input", { id: "vendor", name: "vendor", value: filters.vendor, placeholder: "any" }),
    el("button", { type: "submit", text: "Apply" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    here({ group_by: data.get("group_by"), product_type: data.get("product_type").trim(), vendor: data.get("vendor").trim() });
  });
  form.querySelector("select").addEventListener("change", () => form.requestSubmit());

  const totals = report.totals;
  return el(
    "div",
    { class: "products" },
    el("div", { class: "heading" }, el("h1", { text: "Products" }), rangePicker(range, (choice) => here({ from: undefined, to: undefined, preset: undefined, ...choice }))),
    el("p", { class: "zone", text: `${range.from} to ${range.to}, ${tz}; ${count(report.item_count)} rows; net sales ${money(totals.net_sales)}, ${count(totals.net_units)} units net of returns.` }),
    form,
    el(
      "section",
      { class: "panel", "aria-labelledby": "products-table" },
      el("h2", { id: "products-table", text: "Performance" }),
      table("Products by net sales", [
        [GROUPS.find(([g]) => g === group)[1], (r) => name(r, group)],
        ["Units sold", (r) => count(r.units_sold), { numeric: true }],
        ["Returned", (r) => count(r.units_returned), { numeric: true }],
        ["Net sales", (r) => money(r.net_sales), { numeric: true }],
        ["Refund rate", (r) => percent(r.refund_rate), { numeric: true }],
        ["Gross profit", (r) => money(r.gross_profit), { numeric: true }],
        ["Growth", (r) => percent(r.growth), { numeric: true }],
        ["Available", (r) => count(r.available), { numeric: true }],
        ["Sell-through", (r) => percent(r.sell_through), { numeric: true }],
      ], report.items, "No sales in this range."),
      el("a", { class: "csv", href: `/api/analytics/products?${query({ ...asked, format: "csv" })}`, download: true, text: "Download every row (CSV)" }),
    ),
  );
}
