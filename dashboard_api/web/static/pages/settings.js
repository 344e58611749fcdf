// Settings (owners and admins): users and their roles, invites, ingest API keys, and (owners)
// the webhook secret. Secrets the API shows once are shown once here too.
import { ApiError, get, request } from "../api.js";
import { el, table } from "../format.js";

const ROLES = ["owner", "admin", "analyst"];
const day = (stamp) => (stamp || "").slice(0, 10);

function once(label, value) {
  // A value the API shows only once: selectable, with a warning.
  return el(
    "div",
    { class: "once", role: "status" },
    el("p", { text: `${label} (shown only now; copy it):` }),
    el("input", { type: "text", readonly: true, value, "aria-label": label, class: "secret", onfocus: (e) => e.target.select() }),
  );
}

function errorLine(error) {
  const fields = error instanceof ApiError && error.body?.fields;
  const detail = fields ? Object.values(fields).flat().join(" ") : "";
  return el("p", { class: "error", role: "alert", text: detail ? `${error.message} ${detail}` : error.message });
}

function form(label, controls, submit, onSubmit) {
  const out = el("div", { class: "result" });
  const node = el("form", { class: "filters", "aria-label": label }, ...controls, el("button", { type: "submit", text: submit }), out);
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    out.replaceChildren();
    try {
      out.replaceChildren(await onSubmit(Object.fromEntries(new FormData(node))));
    } catch (error) {
      out.replaceChildren(errorLine(error));
    }
  });
  return node;
}

function usersPanel(ctx, users, me) {
  const rows = table("Users", [
    ["Email", (u) => u.email],
    ["Role", (u) => {
      if (u.id === me.id) return u.role;
      const select = el("select", { "aria-label": `Role of ${u.email}` }, ROLES.map((r) => el("option", { value: r, selected: r === u.role, text: r })));
      select.addEventListener("change", async () => {
        await request("PATCH", `/api/users/${u.id}`, { role: select.value }).catch((e) => alert(e.message));
      });
      return select;
    }],
    ["Last sign-in", (u) => day(u.last_login_at) || "never"],
    ["", (u) => (u.id === me.id ? "you" : el("button", {
      type: "button",
      text: "Remove",
      "aria-label": `Remove ${u.email}`,
      onclick: async () => {
        await request("DELETE", `/api/users/${u.id}`).catch((e) => alert(e.message));
        ctx.navigate("/app/settings", { replace: true });
      },
    }))],
  ], users, "No users.");
  return el("section", { class: "panel", "aria-labelledby": "users-title" }, el("h2", { id: "users-title", text: "Users" }), rows);
}

function invitesPanel(invites) {
  const list = table("Invites, newest first", [
    ["Email", (i) => i.email],
    ["Role", (i) => i.role],
    ["Status", (i) => i.status],
    ["Sent", (i) => day(i.created_at)],
  ], invites, "No invites.");
  const invite = form(
    "Invite someone",
    [
      el("label", { for: "invite-email", text: "Email" }),
      el("input", { id: "invite-email", name: "email", type: "email", required: true }),
      el("label", { for: "invite-role", text: "Role" }),
      el("select", { id: "invite-role", name: "role" }, ROLES.map((r) => el("option", { value: r, selected: r === "analyst", text: r }))),
    ],
    "Invite",
    async (data) => {
      const made = await request("POST", "/api/invites", data);
      const link = `${location.origin}/app/invite?token=${encodeURIComponent(made.token)}`;
      return once(`Invite link for ${made.email}`, link);
    },
  );
  return el("section", { class: "panel", "aria-labelledby": "invites-title" }, el("h2", { id: "invites-title", text: "Invites" }), invite, list);
}

function keysPanel(ctx, keys) {
  const list = table("Ingest API keys", [
    ["Name", (k) => k.name],
    ["Starts with", (k) => k.prefix],
    ["Created", (k) => day(k.created_at)],
    ["Status", (k) => (k.revoked_at ? `revoked ${day(k.revoked_at)}` : "active")],
    ["", (k) => (k.revoked_at ? null : el("button", {
      type: "button",
      text: "Revoke",
      "aria-label": `Revoke key ${k.name}`,
      onclick: async () => {
        await request("DELETE", `/api/ingest-keys/${k.id}`).catch((e) => alert(e.message));
        ctx.navigate("/app/settings", { replace: true });
      },
    }))],
  ], keys, "No keys.");
  const create = form(
    "Create an ingest key",
    [el("label", { for: "key-name", text: "Key name" }), el("input", { id: "key-name", name: "name", required: true })],
    "Create key",
    async (data) => {
      const made = await request("POST", "/api/ingest-keys", data);
      return once(`Key ${made.name}`, made.key);
    },
  );
  return el("section", { class: "panel", "aria-labelledby": "keys-title" }, el("h2", { id: "keys-title", text: "Ingest API keys" }), create, list);
}

function secretPanel() {
  const rotate = form(
    "Rotate the webhook secret",
    [el("label", { for: "webhook-secret", text: "New webhook secret" }), el("input", { id: "webhook-secret", name: "webhook_secret", type: "password", autocomplete: "off", required: true })],
    "Rotate",
    async (data) => {
      const done = await request("POST", "/api/tenant/webhook-secret", data);
      return el("p", { role: "status", text: `Rotated. The previous secret keeps verifying until ${done.previous_secret_valid_until}.` });
    },
  );
  return el(
    "section",
    { class: "panel", "aria-labelledby": "secret-title" },
    el("h2", { id: "secret-title", text: "Webhook secret" }),
    el("p", { class: "zone", text: "Set the same secret in your Shopify app first; deliveries signed with the old one keep verifying for a grace period." }),
    rotate,
  );
}

export async function settingsPage(ctx) {
  const me = ctx.me.user;
  if (!["owner", "admin"].includes(me.role)) {
    return el("p", { text: "Settings are for the shop's owners and admins." });
  }
  const [users, invites, keys] = await Promise.all([get("/api/users"), get("/api/invites"), get("/api/ingest-keys")]);
  return el(
    "div",
    { class: "settings" },
    el("h1", { text: "Settings" }),
    usersPanel(ctx, users, me),
    invitesPanel(invites),
    keysPanel(ctx, keys),
    me.role === "owner" ? secretPanel() : null,
  );
}

// Accepting an invite: a password for the invited address, then sign in.
export function invitePage(ctx) {
  const token = new URLSearchParams(location.search).get("token") || "";
  return el(
    "div",
    { class: "login" },
    el("h1", { text: "Accept the invite" }),
    form(
      "Choose a password",
      [
        el("label", { for: "invite-password", text: "New password" }),
        el("input", { id: "invite-password", name: "password", type: "password", autocomplete: "new-password", required: true }),
      ],
      "Accept",
      async (data) => {
        await request("POST", "/invites/accept", { token, password: data.password });
        return el("p", { role: "status" }, "Done: ", el("a", { href: "/app/login", text: "sign in" }), " with your email and this password.");
      },
    ),
  );
}
