"""Browser fixtures: the dashboard served over real HTTP, and Chromium driven by Playwright.

Chromium is Debian's (/usr/bin/chromium, installed by `make install`); Playwright drives it
and downloads no browser of its own. Screenshots of the pages go to $CARTWHEEL_SCREENSHOTS
when it is set (`make screenshots` sets it to docs/screenshots).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from werkzeug.serving import make_server

from core.settings import Settings
from dashboard_api import create_app

CHROMIUM = os.environ.get("CARTWHEEL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    """One headless Chromium per test process."""
    with sync_playwright() as playwright:
        # Root (as in CI) cannot use Chromium's user-namespace sandbox.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def dashboard_url(settings: Settings) -> Iterator[str]:
    """The dashboard (API and web app) of this test's settings, served over HTTP on a free
    port of 127.0.0.1 by a threaded server in this process."""
    server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies), desktop-sized."""
    context = chromium.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str) -> None:
    """Keep a picture of the page for the docs when $CARTWHEEL_SCREENSHOTS names a folder."""
    folder = os.environ.get("CARTWHEEL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)
