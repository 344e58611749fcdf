// Display formats. Money arrives as exact decimal text and is formatted from that text, so
// what the page shows is the API's figure to the cent.

let currency = null;

export function setCurrency(code) {
  currency = code || null;
}

export function money(text) {
  if (text === null || text === undefined) return "–";
  if (!currency) return String(text);
  return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(text);
}

export function count(n) {
  return n === null || n === undefined ? "–" : new Intl.NumberFormat().format(n);
}

export function percent(rate) {
  if (rate === null || rate === undefined) return "–";
  return new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 }).format(
    rate,
  );
}

// The change from `before` to `now` as a fraction of |before|; null when before is zero.
export function change(now, before) {
  const a = Number(now);
  const b = Number(before);
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return (a - b) / Math.abs(b);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

// A table of rows: columns are [heading, row => cell text or node, {numeric}].
export function table(caption, columns, rows, empty = "Nothing in this range.") {
  return el(
    "table",
    {},
    el("caption", { text: caption }),
    el(
      "thead",
      {},
      el("tr", {}, columns.map(([h, , o]) => el("th", { scope: "col", class: o?.numeric ? "num" : null, text: h }))),
    ),
    el(
      "tbody",
      {},
      rows.length
        ? rows.map((row) =>
            el(
              "tr",
              {},
              columns.map(([, cell, o]) => {
                const value = cell(row);
                return el("td", { class: o?.numeric ? "num" : null }, value ?? "–");
              }),
            ),
          )
        : el("tr", {}, el("td", { colspan: columns.length, text: empty })),
    ),
  );
}
