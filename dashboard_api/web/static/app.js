// The dashboard's router: who is signed in, which screen the address names, and links that
// change screens without reloading the page.
import { ApiError, get, request } from "./api.js";
import { el, setCurrency } from "./format.js";
import { listen } from "./live.js";
import { checkoutsPage } from "./pages/checkouts.js";
import { customerPage, customersPage } from "./pages/customers.js";
import { loginPage } from "./pages/login.js";
import { operationsPage } from "./pages/operations.js";
import { orderPage, ordersPage } from "./pages/orders.js";
import { overviewPage } from "./pages/overview.js";
import { productsPage } from "./pages/products.js";
import { invitePage, settingsPage } from "./pages/settings.js";
import { registerPage, setupPage } from "./pages/setup.js";

const main = document.getElementById("main");
let me = null;

function route(path) {
  if (path === "/app/login") return loginPage;
  if (path === "/app/invite") return invitePage;
  if (path === "/app/register") return registerPage;
  if (path === "/app/setup") return setupPage;
  if (path === "/app/settings") return settingsPage;
  if (path === "/app/" || path === "/app") return overviewPage;
  if (path === "/app/customers") return customersPage;
  if (path === "/app/operations") return operationsPage;
  if (path === "/app/products") return productsPage;
  if (path === "/app/checkouts") return checkoutsPage;
  if (path === "/app/orders") return ordersPage;
  const order = path.match(/^\/app\/orders\/(\d+)$/);
  if (order) return (ctx) => orderPage(ctx, order[1]);
  const customer = path.match(/^\/app\/customers\/(\d+)$/);
  if (customer) return (ctx) => customerPage(ctx, customer[1]);
  return () => el("p", { text: "There is no such screen." });
}

export function navigate(href, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  render();
}

async function signedIn() {
  if (me) return me;
  try {
    // The insights name the shop currency (the newest order's).
    const [user, tenant, insights] = await Promise.all([
      get("/api/me"),
      get("/api/tenant"),
      get("/api/insights"),
    ]);
    setCurrency(insights.currency);
    me = { user, tenant };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    me = null;
  }
  return me;
}

function showUser() {
  document.getElementById("nav").hidden = !me;
  document.getElementById("who").hidden = !me;
  document.getElementById("who-email").textContent = me ? `${me.user.email} · ${me.tenant.name}` : "";
  // Operations are for owners and admins (the API refuses the others anyway).
  const manager = Boolean(me) && ["owner", "admin"].includes(me.user.role);
  document.getElementById("nav-operations").hidden = !manager;
  document.getElementById("nav-settings").hidden = !manager;
  document.getElementById("nav-setup").hidden = !manager;
  for (const link of document.querySelectorAll("#nav a")) {
    const here = link.getAttribute("href") === location.pathname;
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

let rendering = 0;

async function render() {
  const path = location.pathname;
  // A slower earlier screen must not replace the one the address names now.
  const mine = ++rendering;
  listen(null); // a screen that wants live changes listens again
  try {
    const open = ["/app/login", "/app/invite", "/app/register"].includes(path); // no session needed
    const session = open ? null : await signedIn();
    if (!session && !open) {
      navigate(`/app/login?next=${encodeURIComponent(path + location.search)}`, { replace: true });
      return;
    }
    showUser();
    const ctx = {
      me: session,
      navigate,
      onSignIn: () => { me = null; },
      // Live changes for this screen only while it is the one shown.
      listen: (callback) => { if (mine === rendering) listen(callback); },
    };
    const screen = await route(path)(ctx);
    if (mine === rendering) main.replaceChildren(screen);
  } catch (error) {
    if (mine === rendering) main.replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
  }
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href^='/app']");
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || link.target) return;
  event.preventDefault();
  navigate(link.getAttribute("href"));
});
window.addEventListener("popstate", render);
document.getElementById("sign-out").addEventListener("click", async () => {
  await request("DELETE", "/login/session").catch(() => null);
  me = null;
  navigate("/app/login", { replace: true });
});

render();
