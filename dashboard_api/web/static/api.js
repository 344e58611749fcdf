// The JSON API, called as any client calls it: the browser session's cookies authenticate,
// and every request that may change something echoes the CSRF cookie in X-CSRF-Token.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `The server answered ${status}.`);
    this.status = status;
    this.body = body;
  }
}

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

function csrfToken() {
  const pair = document.cookie.split("; ").find((c) => c.startsWith("cartwheel_csrf="));
  return pair ? decodeURIComponent(pair.slice("cartwheel_csrf=".length)) : "";
}

async function send(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (!SAFE.has(method)) headers["X-CSRF-Token"] = csrfToken();
  return fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

let refreshing = null;

// One refresh at a time, however many requests found the access cookie expired.
function refreshSession() {
  refreshing ??= send("POST", "/login/session/refresh").finally(() => {
    refreshing = null;
  });
  return refreshing;
}

export async function request(method, path, body) {
  let response = await send(method, path, body);
  // Without a CSRF cookie there is no session to refresh.
  if (response.status === 401 && csrfToken() && !path.startsWith("/login/session")) {
    const refreshed = await refreshSession();
    if (refreshed.ok) response = await send(method, path, body);
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path, params) => request("GET", params ? `${path}?${query(params)}` : path);

export function query(params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") q.set(name, value);
  }
  return q.toString();
}
