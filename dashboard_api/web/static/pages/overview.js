// Overview: the KPI tiles against the previous period, sales by day, top products and
// customers, for a range of the shop's days; kept up to date by the live stream.
import { get, query } from "../api.js";
import { change, count, el, money, percent, setCurrency, table } from "../format.js";
import { chosenRange, previousPeriod, rangePicker, todayIn } from "../range.js";

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
// At most one re-read per this many milliseconds while changes stream in.
const SETTLE_MS = 250;

async function answers(range) {
  const params = { from: range.from, to: range.to };
  const [sales, insights, cohorts, products] = await Promise.all([
    get("/api/reports/sales", params),
    get("/api/insights", params),
    get("/api/analytics/cohorts", params),
    get("/api/analytics/products", { ...params, limit: 5 }),
  ]);
  return { sales, insights, cohorts, products };
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

function salesChart() {
  const canvas = el("canvas", { role: "img", "aria-label": "Net sales by day; the numbers are in the table below." });
  const box = el("div", { class: "chart" }, canvas);
  let chart = null;
  const draw = (days) => {
    const labels = days.map((d) => d.date);
    const values = days.map((d) => Number(d.net_sales));
    if (!window.Chart) return;
    if (chart) {
      chart.data.labels = labels;
      chart.data.datasets[0].data = values;
      chart.update("none");
      return;
    }
    chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ label: "Net sales", data: values, backgroundColor: "#2b5797" }] },
      options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } } },
    });
    box.dataset.drawn = "true";
  };
  return { box, draw };
}

function csvLink(path, params, label) {
  return el("a", { class: "csv", href: `${path}?${query({ ...params, format: "csv" })}`, download: true, text: label });
}

function dayTable(days) {
  return table("Sales by day", [
    ["Day", (d) => d.date],
    ["Orders", (d) => count(d.orders), { numeric: true }],
    ["Gross sales", (d) => money(d.gross_sales), { numeric: true }],
    ["Net sales", (d) => money(d.net_sales), { numeric: true }],
    ["Total sales", (d) => money(d.total_sales), { numeric: true }],
  ], days);
}

function productTable(items) {
  return table("Top products by net sales", [
    ["Product", (p) => p.title || "Custom line"],
    ["Units", (p) => count(p.net_units), { numeric: true }],
    ["Net sales", (p) => money(p.net_sales), { numeric: true }],
  ], items);
}

function customerTable(rows) {
  return table("Top customers by spend", [
    ["Customer", (c) => el("a", { href: `/app/customers/${c.id}`, text: c.name || c.email || `#${c.id}` })],
    ["Orders", (c) => count(c.orders), { numeric: true }],
    ["Spent", (c) => money(c.spent), { numeric: true }],
  ], rows);
}

export async function overviewPage(ctx) {
  const tz = ctx.me.tenant.timezone;
  const range = chosenRange(new URLSearchParams(location.search), tz);
  const before = previousPeriod(range);
  const [first, then] = await Promise.all([answers(range), answers(before)]);
  setCurrency(first.sales.currency || first.insights.currency);
  const asked = { from: range.from, to: range.to };

  const tiles = el("div", { class: "tiles" });
  const chart = salesChart();
  const days = el("div", {});
  const products = el("div", {});
  const customers = el("div", {});
  const status = el("p", { class: "live", role: "status", "aria-live": "polite", id: "live-status" });
  const activity = el("ul", { class: "activity", "aria-label": "Latest changes" });

  const show = (now) => {
    tiles.replaceChildren(...TILES.map(([name, label, read, fmt]) => tile(name, label, read(now), read(then), fmt)));
    chart.draw(now.sales.days);
    days.replaceChildren(dayTable(now.sales.days));
    products.replaceChildren(productTable(now.products.items));
    customers.replaceChildren(customerTable(now.insights.top_customers));
  };

  let timer = null;
  let busy = false;
  let again = false;
  const reread = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      show(await answers(range));
      status.textContent = `Live: updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      status.textContent = `Live: ${error.message}`;
    } finally {
      busy = false;
      if (again) {
        again = false;
        reread();
      }
    }
  };
  ctx.listen((event) => {
    if (event.kind === "change") {
      const topics = event.change.topics.length ? event.change.topics.join(", ") : "recomputed figures";
      activity.prepend(el("li", { text: `${new Date().toLocaleTimeString()} ${topics}` }));
      while (activity.children.length > 5) activity.lastChild.remove();
    }
    clearTimeout(timer);
    timer = setTimeout(reread, SETTLE_MS);
  });
  const live = range.to >= todayIn(tz) ? "" : " (the range has ended: changes to it still show)";
  status.textContent = `Live${live}`;
  show(first);
  // Drawn once the page shows it: make bench times the first meaningful paint by this mark.
  requestAnimationFrame(() => performance.mark("cartwheel:overview"));

  return el(
    "div",
    { class: "overview" },
    el("div", { class: "heading" }, el("h1", { text: "Overview" }), rangePicker(range, (choice) => ctx.navigate(`/app/?${query(choice)}`))),
    el("p", { class: "zone", text: `${range.from} to ${range.to}, ${tz}; compared with ${before.from} to ${before.to}.` }),
    status,
    tiles,
    el(
      "section",
      { class: "panel", "aria-labelledby": "sales-title" },
      el("h2", { id: "sales-title", text: "Net sales by day" }),
      chart.box,
      el("details", {}, el("summary", { text: "The numbers" }), days),
      csvLink("/api/reports/sales", asked, "Download the sales report (CSV)"),
    ),
    el(
      "div",
      { class: "pair" },
      el(
        "section",
        { class: "panel", "aria-labelledby": "products-title" },
        el("h2", { id: "products-title", text: "Top products" }),
        products,
        csvLink("/api/analytics/products", asked, "Download (CSV)"),
      ),
      el(
        "section",
        { class: "panel", "aria-labelledby": "customers-title" },
        el("h2", { id: "customers-title", text: "Top customers" }),
        customers,
      ),
      el(
        "section",
        { class: "panel", "aria-labelledby": "activity-title" },
        el("h2", { id: "activity-title", text: "Latest changes" }),
        activity,
      ),
    ),
  );
}
