"""Security headers on both apps, and the API docs page working without any other host."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from flask.testing import FlaskClient

import dashboard_api
import receiver
from core.settings import Settings

EVERY_ANSWER = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
STRICT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def _clients(settings: Settings) -> dict[str, FlaskClient]:
    return {
        "receiver": receiver.create_app(settings).test_client(),
        "dashboard": dashboard_api.create_app(settings).test_client(),
    }


# An answer of each kind: a success, a route that does not exist, a refused delivery, a refused
# token, the metrics text.
REQUESTS = [
    ("receiver", "GET", "/healthz"),
    ("receiver", "GET", "/nowhere"),
    ("receiver", "POST", "/webhooks"),
    ("receiver", "GET", "/metrics"),
    ("dashboard", "GET", "/healthz"),
    ("dashboard", "GET", "/nowhere"),
    ("dashboard", "GET", "/api/orders"),
    ("dashboard", "GET", "/openapi.json"),
]


@pytest.mark.parametrize(("app", "method", "path"), REQUESTS)
def test_every_answer_carries_the_security_headers(
    settings: Settings, app: str, method: str, path: str
) -> None:
    response = _clients(settings)[app].open(path, method=method)
    for name, value in EVERY_ANSWER.items():
        assert response.headers.get(name) == value, (name, response.headers)
    assert response.headers["Content-Security-Policy"] == STRICT_CSP
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_is_sent_by_both_apps_when_served_over_https(settings: Settings) -> None:
    for client in _clients(settings.with_overrides(hsts_seconds=31536000)).values():
        response = client.get("/healthz")
        assert response.headers["Strict-Transport-Security"] == (
            "max-age=31536000; includeSubDomains"
        )


def test_the_docs_page_loads_nothing_from_another_host(settings: Settings) -> None:
    client = _clients(settings)["dashboard"]
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "http://" not in html and "https://" not in html, html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, html
    for url in sources:
        assert url.startswith("/docs/assets/"), url
        with client.get(url) as asset:
            assert asset.status_code == 200, url
            assert len(asset.get_data()) > 1000
            assert asset.headers["X-Content-Type-Options"] == "nosniff"
            assert asset.mimetype in ("text/css", "text/javascript", "application/javascript")


def test_the_docs_page_runs_only_its_own_scripts(settings: Settings) -> None:
    page = _clients(settings)["dashboard"].get("/docs")
    csp = page.headers["Content-Security-Policy"]
    inline = re.findall(r"<script>(.*?)</script>", page.get_data(as_text=True), re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    script_src = re.search(r"script-src ([^;]*)", csp)
    assert script_src is not None
    assert script_src.group(1).split() == ["'self'", f"'sha256-{digest}'"]
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp and "http" not in csp


@pytest.mark.parametrize("name", ["swagger-editor.js", "LICENSE", "..%2Fcore.py", "index.css"])
def test_only_the_docs_page_assets_are_served(settings: Settings, name: str) -> None:
    response = _clients(settings)["dashboard"].get(f"/docs/assets/{name}")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
