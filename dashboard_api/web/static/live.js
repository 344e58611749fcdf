// The shop's live changes (GET /api/live, Server-Sent Events): one stream per page, kept open
// across reconnects without gaps (the last event id goes back with every reconnect), and
// handed to whatever the current screen listens with.
import { request } from "./api.js";

let source = null;
let lastId = null;
let listener = null;
let retry = null;

function open() {
  const url = lastId ? `/api/live?last_event_id=${encodeURIComponent(lastId)}` : "/api/live";
  source = new EventSource(url, { withCredentials: true });
  const remember = (event) => {
    if (event.lastEventId) lastId = event.lastEventId;
  };
  source.addEventListener("ready", remember);
  source.addEventListener("change", (event) => {
    remember(event);
    listener?.({ kind: "change", ...JSON.parse(event.data), receivedAt: Date.now() / 1000 });
  });
  source.addEventListener("reset", (event) => {
    remember(event);
    listener?.({ kind: "reset" });
  });
  source.addEventListener("expired", () => reopen(0));
  source.addEventListener("error", () => {
    // The browser retries by itself unless the server refused (a 401 closes the stream).
    if (source.readyState === EventSource.CLOSED) reopen(2000);
  });
}

async function reopen(delay) {
  source?.close();
  source = null;
  clearTimeout(retry);
  retry = setTimeout(async () => {
    await request("POST", "/login/session/refresh").catch(() => null);
    if (listener) open();
  }, delay);
}

// Listen to the stream (one listener at a time: the screen shown); null stops it.
export function listen(callback) {
  listener = callback;
  if (callback && !source) open();
  if (!callback && source) {
    source.close();
    source = null;
  }
}
