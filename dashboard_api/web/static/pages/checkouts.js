// Checkouts: the abandonment funnel of the checkouts started in a range, and the abandoned and
// recovered value by day, from GET /api/reports/checkouts.
import { get, query } from "../api.js";
import { count, el, money, percent, table } from "../format.js";
import { chosenRange, rangePicker } from "../range.js";

const STEPS = [
  ["started", "Started"],
  ["completed", "Completed at once"],
  ["recovered", "Abandoned, then recovered"],
  ["abandoned", "Abandoned"],
  ["open", "Still open"],
];

function funnel(totals) {
  const most = Math.max(1, totals.started);
  return el(
    "ol",
    { class: "funnel", "aria-label": "Checkout funnel" },
    STEPS.map(([name, label]) =>
      el(
        "li",
        { "data-step": name },
        el("span", { class: "step", text: label }),
        el("span", { class: "bar", style: `width: ${((100 * totals[name]) / most).toFixed(1)}%` }),
        el("span", { class: "figure", "data-value": String(totals[name]), text: count(totals[name]) }),
      ),
    ),
  );
}

function valueChart(days) {
  const canvas = el("canvas", { role: "img", "aria-label": "Abandoned and recovered value by day; the numbers are in the table below." });
  const box = el("div", { class: "chart" }, canvas);
  if (window.Chart) {
    requestAnimationFrame(() => {
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: days.map((d) => d.date),
          datasets: [
            { label: "Recovered", data: days.map((d) => Number(d.recovered_value)), backgroundColor: "#22663a" },
            { label: "Abandoned", data: days.map((d) => Number(d.abandoned_value)), backgroundColor: "#9b2c2c" },
          ],
        },
        options: { animation: false, maintainAspectRatio: false },
      });
    });
  }
  return box;
}

export async function checkoutsPage(ctx) {
  const tz = ctx.me.tenant.timezone;
  const range = chosenRange(new URLSearchParams(location.search), tz);
  const asked = { from: range.from, to: range.to };
  const report = await get("/api/reports/checkouts", asked);
  const t = report.totals;
  return el(
    "div",
    { class: "checkouts" },
    el("div", { class: "heading" }, el("h1", { text: "Checkouts" }), rangePicker(range, (choice) => ctx.navigate(`/app/checkouts?${query(choice)}`))),
    el("p", { class: "zone", text: `Checkouts started ${range.from} to ${range.to} (${tz}), by their status now.` }),
    el(
      "div",
      { class: "tiles" },
      el("section", { class: "tile", "data-kpi": "abandonment_rate" }, el("h2", { text: "Abandonment rate" }), el("p", { class: "value", "data-value": t.abandonment_rate ?? "", text: percent(t.abandonment_rate) })),
      el("section", { class: "tile", "data-kpi": "recovery_rate" }, el("h2", { text: "Recovery rate" }), el("p", { class: "value", "data-value": t.recovery_rate ?? "", text: percent(t.recovery_rate) })),
      el("section", { class: "tile", "data-kpi": "recovered_value" }, el("h2", { text: "Recovered value" }), el("p", { class: "value", "data-value": t.recovered_value, text: money(t.recovered_value) })),
      el("section", { class: "tile", "data-kpi": "abandoned_value" }, el("h2", { text: "Abandoned value" }), el("p", { class: "value", "data-value": t.abandoned_value, text: money(t.abandoned_value) })),
    ),
    el("section", { class: "panel", "aria-labelledby": "funnel-title" }, el("h2", { id: "funnel-title", text: "Funnel" }), funnel(t)),
    el(
      "section",
      { class: "panel", "aria-labelledby": "value-title" },
      el("h2", { id: "value-title", text: "Recovered and abandoned value by day" }),
      valueChart(report.days),
      el("details", {}, el("summary", { text: "The numbers" }),
        table("Checkouts by day", [
          ["Day", (d) => d.date],
          ["Started", (d) => count(d.started), { numeric: true }],
          ["Completed", (d) => count(d.completed), { numeric: true }],
          ["Recovered", (d) => count(d.recovered), { numeric: true }],
          ["Abandoned", (d) => count(d.abandoned), { numeric: true }],
          ["Recovered value", (d) => money(d.recovered_value), { numeric: true }],
          ["Abandoned value", (d) => money(d.abandoned_value), { numeric: true }],
        ], report.days)),
      el("a", { class: "csv", href: `/api/reports/checkouts?${query({ ...asked, format: "csv" })}`, download: true, text: "Download (CSV)" }),
    ),
  );
}
