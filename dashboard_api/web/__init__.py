"""The web dashboard: one HTML page whose scripts draw every screen from the JSON API.

The pages use the API exactly as any other client does, signed in with a browser session
(dashboard_api/accounts/browser.py). Third-party browser files come from the npm registry
(frontend/package-lock.json) and are copied into static/vendor by `make install`.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, redirect, render_template

STATIC = Path(__file__).resolve().parent / "static"
# The screens the page's router knows (static/app.js); any other path under /app is a 404.
SCREENS = (
    "",
    "login",
    "invite",
    "register",
    "setup",
    "orders",
    "products",
    "customers",
    "checkouts",
    "operations",
    "settings",
)

blp = Blueprint(
    "web",
    __name__,
    url_prefix="/app",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def _page() -> Response:
    response = Response(render_template("app.html"), mimetype="text/html")
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.get("/")
def overview() -> Response:
    return _page()


@blp.get("/<any(" + ", ".join(s for s in SCREENS if s) + "):screen>")
@blp.get("/customers/<customer_id>")
@blp.get("/orders/<order_id>")
def screen(**_: str) -> Response:
    return _page()


def install_web(app: Flask) -> None:
    """Serve the dashboard under /app, and send visitors of / there."""
    if not (STATIC / "vendor" / "chart.umd.min.js").exists():
        app.logger.warning("the dashboard's browser files are missing: run `make install`")
    app.register_blueprint(blp)
    app.add_url_rule("/", "home", lambda: redirect("/app/", code=302))
