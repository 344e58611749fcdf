// Onboarding: register a shop, prove it is yours (Shopify OAuth or an Admin API token), see
// the webhook subscriptions to make (with the app's TOML), and watch the first events arrive.
import { ApiError, get, request } from "../api.js";
import { count, el, table } from "../format.js";

function failure(error) {
  const fields = error instanceof ApiError && error.body?.fields;
  const detail = fields ? Object.entries(fields).map(([k, v]) => `${k}: ${[v].flat().join(" ")}`).join("; ") : "";
  return el("p", { class: "error", role: "alert", text: detail ? `${error.message} ${detail}` : error.message });
}

function field(id, label, attrs = {}) {
  return [el("label", { for: id, text: label }), el("input", { id, name: id, required: true, ...attrs })];
}

export function registerPage() {
  const out = el("div", { class: "result" });
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : ["UTC"];
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const form = el(
    "form",
    { class: "login", "aria-labelledby": "register-title" },
    el("h1", { id: "register-title", text: "Register a shop" }),
    ...field("name", "Shop name"),
    ...field("store_url", "Store address", { placeholder: "your-shop.myshopify.com" }),
    ...field("email", "Your email", { type: "email", autocomplete: "username" }),
    ...field("password", "Password (at least 10 characters)", { type: "password", autocomplete: "new-password" }),
    ...field("webhook_secret", "Your app's client secret (Shopify signs webhooks with it)", { type: "password", autocomplete: "off" }),
    el("label", { for: "timezone", text: "Time zone" }),
    el("select", { id: "timezone", name: "timezone" }, zones.map((z) => el("option", { value: z, selected: z === here, text: z }))),
    el("button", { type: "submit", text: "Register" }),
    out,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.replaceChildren();
    try {
      await request("POST", "/tenants/register", Object.fromEntries(new FormData(form)));
      out.replaceChildren(el("p", { role: "status" }, "Registered. ", el("a", { href: "/app/login?next=/app/setup", text: "Sign in" }), " to connect the shop."));
    } catch (error) {
      out.replaceChildren(failure(error));
    }
  });
  return el("div", {}, form, el("p", { class: "zone center" }, "Have an account? ", el("a", { href: "/app/login", text: "Sign in" })));
}

async function verificationPanel() {
  const params = new URLSearchParams(location.search);
  const notes = el("div", { class: "result" });
  if (params.get("code") && params.get("hmac") && params.get("state")) {
    // Shopify sent the merchant back here after the install: hand its answer to the API.
    const answer = Object.fromEntries(["code", "hmac", "shop", "state", "timestamp", "host"].filter((k) => params.get(k)).map((k) => [k, params.get(k)]));
    await request("POST", "/api/tenant/verification/oauth/callback", answer).catch((error) => notes.replaceChildren(failure(error)));
    history.replaceState(null, "", "/app/setup");
  }
  const state = await get("/api/tenant/verification");
  const panel = el("section", { class: "panel", "aria-labelledby": "verify-title" }, el("h2", { id: "verify-title", text: "1. Connect the shop" }));
  if (state.verified) {
    panel.append(el("p", { "data-verified": "true", text: `${state.shop_domain} is verified (since ${state.verified_at.slice(0, 10)}): its webhooks are accepted.` }), notes);
    return panel;
  }
  const token = el("form", { class: "filters", "aria-label": "Verify with an Admin API token" },
    ...field("access_token", "Admin API access token", { type: "password", autocomplete: "off" }),
    el("button", { type: "submit", text: "Verify with the token" }));
  token.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await request("POST", "/api/tenant/verification/token", Object.fromEntries(new FormData(token)));
      location.reload();
    } catch (error) {
      notes.replaceChildren(failure(error));
    }
  });
  const oauth = el("button", { type: "button", text: "Install the app on Shopify (OAuth)" });
  oauth.addEventListener("click", async () => {
    try {
      location.href = (await request("POST", "/api/tenant/verification/oauth")).authorize_url;
    } catch (error) {
      notes.replaceChildren(failure(error));
    }
  });
  panel.append(
    el("p", { "data-verified": "false", text: `${state.shop_domain} is not verified yet: prove it is yours, and its webhooks are accepted from then on.` }),
    state.methods.includes("oauth") ? oauth : null,
    state.methods.includes("token") ? token : null,
    notes,
  );
  return panel;
}

function subscriptionsPanel(setup) {
  return el(
    "section",
    { class: "panel", "aria-labelledby": "subs-title" },
    el("h2", { id: "subs-title", text: "2. Subscribe the app's webhooks" }),
    el("p", { text: setup.receiver_url ? `Shopify delivers to the receiver at ${setup.receiver_url}.` : "The receiver's public address is not configured (CARTWHEEL_RECEIVER_PUBLIC_URL)." }),
    table("Subscriptions", [
      ["Address", (s) => el("code", { text: s.uri })],
      ["Topics", (s) => s.topics.join(", ")],
    ], setup.subscriptions),
    el("p", { text: "In shopify.app.toml (then `shopify app deploy`):" }),
    el("pre", { class: "toml", tabindex: "0", "aria-label": "shopify.app.toml webhooks section" }, el("code", { text: setup.app_toml })),
  );
}

function seenTable(seen) {
  return table("Deliveries of the last day, by topic", [
    ["Topic", (s) => s.topic],
    ["API version", (s) => s.api_version || ""],
    ["Deliveries", (s) => count(s.deliveries), { numeric: true }],
    ["Last", (s) => s.last_received_at.slice(0, 19).replace("T", " ")],
  ], seen.items, "Nothing yet: deliveries appear here as they arrive.");
}

export async function setupPage(ctx) {
  if (!["owner", "admin"].includes(ctx.me.user.role)) {
    return el("p", { text: "Setting up the shop is for its owners and admins." });
  }
  const [verification, setup, seen] = await Promise.all([
    verificationPanel(),
    get("/api/webhooks/subscriptions"),
    get("/api/webhooks/seen", { days: 1 }),
  ]);
  const arriving = el("div", { id: "first-events" }, seenTable(seen));
  ctx.listen(async () => {
    arriving.replaceChildren(seenTable(await get("/api/webhooks/seen", { days: 1 })));
  });
  return el(
    "div",
    { class: "setup" },
    el("h1", { text: "Set up the shop" }),
    verification,
    subscriptionsPanel(setup),
    el("section", { class: "panel", "aria-labelledby": "events-title", "aria-live": "polite" }, el("h2", { id: "events-title", text: "3. Watch the first events arrive" }), arriving),
  );
}
