// Operations (owners and admins): dead letters with their error and a replay each, and the
// backfill runs with their progress.
import { ApiError, get, request } from "../api.js";
import { count, el, table } from "../format.js";

function replayButton(letter, row) {
  const button = el("button", { type: "button", text: "Replay", "aria-label": `Replay dead letter ${letter.id}` });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const done = await request("POST", `/api/dead-letters/${letter.id}/replay`);
      const status = row.querySelector("[data-status]");
      status.textContent = done.replayed.includes(letter.id) ? "replayed" : "replayed already";
      button.remove();
    } catch (error) {
      button.disabled = false;
      row.querySelector("[data-status]").textContent = `not replayed: ${error.message}`;
    }
  });
  return button;
}

function deadLetterTable(items) {
  const rendered = table("Dead letters, newest first", [
    ["Id", (d) => String(d.id)],
    ["Topic", (d) => d.topic],
    ["Error", (d) => el("span", { class: "error-text", text: d.error })],
    ["Received", (d) => (d.received_at || "").slice(0, 19).replace("T", " ")],
    ["Attempts", (d) => count(d.attempts), { numeric: true }],
    ["Status", (d) => el("span", { "data-status": d.id, text: d.status })],
    ["", () => null],
  ], items, "No dead letters: every delivery went through.");
  rendered.querySelectorAll("tbody tr").forEach((row, i) => {
    const letter = items[i];
    if (letter && letter.status === "dead") row.lastChild.replaceChildren(replayButton(letter, row));
  });
  return rendered;
}

function backfillTable(items) {
  return table("Backfills, newest first", [
    ["Started", (b) => (b.created_at || "").slice(0, 19).replace("T", " ")],
    ["Status", (b) => b.status],
    ["Resources", (b) => b.resources.join(", ")],
    ["Progress", (b) => b.progress.map((p) => `${p.resource} ${count(p.rows_written)}/${count(p.rows_expected)}`).join("; ")],
    ["Error", (b) => b.error || ""],
  ], items, "No backfill has run yet.");
}

export async function operationsPage() {
  let letters;
  let backfills;
  try {
    [letters, backfills] = await Promise.all([get("/api/dead-letters"), get("/api/sync/backfills")]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      return el("p", { text: "Operations are for the shop's owners and admins." });
    }
    throw error;
  }
  return el(
    "div",
    { class: "operations" },
    el("h1", { text: "Operations" }),
    el(
      "section",
      { class: "panel", "aria-labelledby": "dead-title" },
      el("h2", { id: "dead-title", text: "Dead letters" }),
      el("p", { class: "zone", text: "Deliveries the pipeline could not take. Replay one once its cause is fixed: it goes through the pipeline again, once." }),
      deadLetterTable(letters.items),
    ),
    el(
      "section",
      { class: "panel", "aria-labelledby": "backfill-title" },
      el("h2", { id: "backfill-title", text: "Backfills" }),
      backfillTable(backfills.items),
    ),
  );
}
