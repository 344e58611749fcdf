// Overview: the KPI tiles against the previous period, sales by day, top products and
// customers, for a range of the shop's days.
import { get, query } from "../api.js";
import { change, count, el, money, percent, setCurrency, table } from "../format.js";
import { chosenRange, previousPeriod, rangePicker } from "../range.js";

// Each tile: its name, how to read its figure from the answers, and how to show it.
const TILES = [
  ["net_sales", "Net sales", (a) => a.sales.totals.net_sales, money],
  ["orders", "Orders", (a) => a.sales.totals.orders, count],
  ["average_order_value", "Average order value", (a) => a.sales.totals.average_order_value, money],
  ["returning_customer_rate", "Returning customer rate", (a) => a.cohorts.returning_customers.rate, percent],
  ["new_customers", "New customers", (a) => a.insights.customers.new, count],
  ["abandonment_rate", "Checkout abandonment", (a) => a.insights.checkouts.abandonment_rate, percent],
  ["recovered_value", "Recovered checkouts", (a) => a.insights.checkouts.recovered_value, money],
];

async function answers(range) {
  const params = { from: range.from, to: range.to };
  const [sales, insights, cohorts] = await Promise.all([
    get("/api/reports/sales", params),
    get("/api/insights", params),
    get("/api/analytics/cohorts", params),
  ]);
  return { sales, insights, cohorts };
}

function tile(name, label, now, before, show) {
  const delta = change(now, before);
  const direction = delta === null ? "none" : delta > 0 ? "up" : delta < 0 ? "down" : "flat";
  return el(
    "section",
    { class: "tile", "data-kpi": name, "aria-label": label },
    el("h2", { text: label }),
    el("p", { class: "value", "data-value": now ?? "", text: show(now) }),
    el(
      "p",
      { class: `change ${direction}` },
      delta === null ? "no previous figure" : `${delta > 0 ? "+" : ""}${percent(delta)} vs previous period`,
      el("span", { class: "before", text: ` (${show(before)})` }),
    ),
  );
}

function salesChart(days) {
  const canvas = el("canvas", { role: "img", "aria-label": "Net sales by day; the numbers are in the table below." });
  const box = el("div", { class: "chart" }, canvas);
  if (window.Chart) {
    requestAnimationFrame(() => {
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: days.map((d) => d.date),
          datasets: [{ label: "Net sales", data: days.map((d) => Number(d.net_sales)), backgroundColor: "#2b6cb0" }],
        },
        options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } } },
      });
    });
  }
  return box;
}

function csvLink(path, params, label) {
  return el("a", { class: "csv", href: `${path}?${query({ ...params, format: "csv" })}`, download: true, text: label });
}

export async function overviewPage(ctx) {
  const tz = ctx.me.tenant.timezone;
  const params = new URLSearchParams(location.search);
  const range = chosenRange(params, tz);
  const before = previousPeriod(range);
  const [now, then, products] = await Promise.all([
    answers(range),
    answers(before),
    get("/api/analytics/products", { from: range.from, to: range.to, limit: 5 }),
  ]);
  setCurrency(now.sales.currency || now.insights.currency);
  const asked = { from: range.from, to: range.to };
  const picker = rangePicker(range, (choice) => ctx.navigate(`/app/?${query(choice)}`));

  return el(
    "div",
    { class: "overview" },
    el("div", { class: "heading" }, el("h1", { text: "Overview" }), picker),
    el("p", { class: "zone", text: `${range.from} to ${range.to}, ${tz}; compared with ${before.from} to ${before.to}.` }),
    el(
      "div",
      { class: "tiles", "aria-live": "polite" },
      TILES.map(([name, label, read, show]) => tile(name, label, read(now), read(then), show)),
    ),
    el(
      "section",
      { class: "panel", "aria-labelledby": "sales-title" },
      el("h2", { id: "sales-title", text: "Net sales by day" }),
      salesChart(now.sales.days),
      el(
        "details",
        {},
        el("summary", { text: "The numbers" }),
        table("Sales by day", [
          ["Day", (d) => d.date],
          ["Orders", (d) => count(d.orders), { numeric: true }],
          ["Gross sales", (d) => money(d.gross_sales), { numeric: true }],
          ["Net sales", (d) => money(d.net_sales), { numeric: true }],
          ["Total sales", (d) => money(d.total_sales), { numeric: true }],
        ], now.sales.days),
      ),
      csvLink("/api/reports/sales", asked, "Download the sales report (CSV)"),
    ),
    el(
      "div",
      { class: "pair" },
      el(
        "section",
        { class: "panel", "aria-labelledby": "products-title" },
        el("h2", { id: "products-title", text: "Top products" }),
        table("Top products by net sales", [
          ["Product", (p) => p.title || "Custom line"],
          ["Units", (p) => count(p.net_units), { numeric: true }],
          ["Net sales", (p) => money(p.net_sales), { numeric: true }],
        ], products.items),
        csvLink("/api/analytics/products", asked, "Download (CSV)"),
      ),
      el(
        "section",
        { class: "panel", "aria-labelledby": "customers-title" },
        el("h2", { id: "customers-title", text: "Top customers" }),
        table("Top customers by spend", [
          ["Customer", (c) => el("a", { href: `/app/customers/${c.id}`, text: c.name || c.email || `#${c.id}` })],
          ["Orders", (c) => count(c.orders), { numeric: true }],
          ["Spent", (c) => money(c.spent), { numeric: true }],
        ], now.insights.top_customers),
      ),
    ),
  );
}
