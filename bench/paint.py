"""The overview's first meaningful paint in a real browser, on the insights phase's shop.

The dashboard is served over HTTP from this process; Debian's Chromium, driven by Playwright,
opens the overview (the last 30 days) signed in with a browser session's access cookie, and
the page marks `cartwheel:overview` once its tiles, chart and tables are drawn. The paint
time is that mark's time from the navigation's start. Uncached: the shop's data version is
bumped before each visit, as a drain commit does, so every report is computed afresh.
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from collections.abc import Callable
from typing import Any

import redis
from werkzeug.serving import make_server

from bench.figures import percentiles
from core.settings import Settings
from core.versions import bump_versions
from dashboard_api import create_app
from dashboard_api.accounts.users import create_user
from dashboard_api.db import tenant_session
from dashboard_api.tokens import issue_access_token

TARGET_MS = 1000.0
MARK = "cartwheel:overview"


def measure_paint(settings: Settings, tenant_id: uuid.UUID, *, samples: int = 10) -> dict[str, Any]:
    """First meaningful paint of the overview, uncached and cached (p50/p95 in ms)."""
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    client = redis.Redis.from_url(settings.redis_url)
    email = f"paint-{uuid.uuid4().hex[:8]}@example.com"
    with tenant_session(settings, tenant_id) as session:  # the page reads its user (/api/me)
        user = create_user(
            session, tenant_id=tenant_id, email=email, password_hash="-", role="analyst"
        )
        user_id = user.id
    token = issue_access_token(
        settings, tenant_id=tenant_id, user_id=user_id, role="analyst", email=email, generation=0
    )
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                args=["--no-sandbox"],
            )
            # Playwright polls with eval, which the page's CSP refuses; the paint is the same.
            context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
            context.add_cookies(
                [{"name": "cartwheel_access", "value": token, "url": base, "secure": True}]
            )
            page = context.new_page()

            def visit(before: Callable[[], None] | None = None) -> float:
                if before:
                    before()
                page.goto(f"{base}/app/?preset=last30")
                page.wait_for_function(f"performance.getEntriesByName('{MARK}').length > 0")
                return float(page.evaluate(f"performance.getEntriesByName('{MARK}')[0].startTime"))

            def bump() -> None:
                bump_versions(client, settings.namespace, [tenant_id])

            for _ in range(2):  # warm the server's connections, plans and columns
                visit(bump)
            uncached = [visit(bump) / 1000 for _ in range(samples)]
            cached = [visit() / 1000 for _ in range(samples)]
            browser.close()
    finally:
        server.shutdown()
        client.close()
    return {
        "uncached": percentiles(uncached),
        "cached": percentiles(cached),
        "target_ms": TARGET_MS,
    }
