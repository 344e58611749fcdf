// Ranges of the shop's local days: presets, the comparison period, and the picker.
import { el } from "./format.js";

export const PRESETS = [
  ["today", "Today", 0, 0],
  ["yesterday", "Yesterday", 1, 1],
  ["last7", "Last 7 days", 6, 0],
  ["last30", "Last 30 days", 29, 0],
  ["last90", "Last 90 days", 89, 0],
  ["last365", "Last 365 days", 364, 0],
];
const DAY = 86_400_000;

export function todayIn(tz) {
  // en-CA writes dates as YYYY-MM-DD.
  return new Intl.DateTimeFormat("en-CA", { timeZone: tz }).format(new Date());
}

export function addDays(iso, days) {
  return new Date(Date.parse(`${iso}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);
}

export function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY) + 1;
}

// The range the address asks for (a preset, or from and to), in the shop's zone.
export function chosenRange(params, tz) {
  const today = todayIn(tz);
  const from = params.get("from");
  const to = params.get("to");
  if (from && to && /^\d{4}-\d{2}-\d{2}$/.test(from) && /^\d{4}-\d{2}-\d{2}$/.test(to) && from <= to) {
    return { preset: "custom", from, to };
  }
  const preset = PRESETS.find(([name]) => name === params.get("preset")) || PRESETS[3];
  const [name, , back, end] = preset;
  return { preset: name, from: addDays(today, -back), to: addDays(today, -end) };
}

// The period as long as `range` that ends the day before it starts.
export function previousPeriod(range) {
  const length = daysBetween(range.from, range.to);
  return { from: addDays(range.from, -length), to: addDays(range.from, -1) };
}

export function rangePicker(range, onChange) {
  const select = el(
    "select",
    { id: "preset", name: "preset" },
    PRESETS.map(([name, label]) => el("option", { value: name, selected: name === range.preset, text: label })),
    el("option", { value: "custom", selected: range.preset === "custom", text: "Custom" }),
  );
  const from = el("input", { id: "from", name: "from", type: "date", value: range.from });
  const to = el("input", { id: "to", name: "to", type: "date", value: range.to });
  select.addEventListener("change", () => {
    if (select.value !== "custom") onChange({ preset: select.value });
  });
  const apply = () => {
    if (from.value && to.value && from.value <= to.value) onChange({ from: from.value, to: to.value });
  };
  from.addEventListener("change", apply);
  to.addEventListener("change", apply);
  return el(
    "div",
    { class: "range", role: "group", "aria-label": "Date range" },
    el("label", { for: "preset", text: "Period" }),
    select,
    el("label", { for: "from", text: "From" }),
    from,
    el("label", { for: "to", text: "To" }),
    to,
  );
}
