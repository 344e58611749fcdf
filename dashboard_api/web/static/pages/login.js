// Sign in: email and password, answered with the browser session's cookies.
import { ApiError, request } from "../api.js";
import { el } from "../format.js";

export function loginPage(ctx) {
  const error = el("p", { class: "error", role: "alert", id: "login-error" });
  const form = el(
    "form",
    { class: "login", "aria-labelledby": "login-title", novalidate: true },
    el("h1", { id: "login-title", text: "Sign in" }),
    el("label", { for: "email", text: "Email" }),
    el("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true }),
    el("label", { for: "password", text: "Password" }),
    el("input", {
      id: "password",
      name: "password",
      type: "password",
      autocomplete: "current-password",
      required: true,
    }),
    error,
    el("button", { type: "submit", text: "Sign in" }),
    el("p", { class: "zone" }, "New here? ", el("a", { href: "/app/register", text: "Register a shop" })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const data = new FormData(form);
    try {
      await request("POST", "/login/session", {
        email: data.get("email"),
        password: data.get("password"),
      });
    } catch (failure) {
      error.textContent =
        failure instanceof ApiError && failure.status === 422
          ? "Enter an email address and a password."
          : failure.message;
      return;
    }
    ctx.onSignIn();
    const next = new URLSearchParams(location.search).get("next");
    ctx.navigate(next && next.startsWith("/app") ? next : "/app/", { replace: true });
  });
  return form;
}
