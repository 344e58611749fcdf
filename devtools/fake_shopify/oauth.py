"""Shopify's OAuth install flow for the fake: authorize (with the merchant's consent) and exchange.

Shops are served under `/shops/<shop domain>`, standing in for each shop's own host, so one
fake serves many shops: set `CARTWHEEL_SHOP_URL_TEMPLATE=<fake url>/shops/{shop}`.

- `GET /shops/<shop>/admin/oauth/authorize?client_id=&scope=&redirect_uri=&state=` answers
  as a merchant's approval would: 302 to `redirect_uri` with `code`, `hmac`, `host`, `shop`,
  `state` and `timestamp`, signed as Shopify signs them (HMAC-SHA256, hex, of the sorted
  parameters, with the app's client secret). Only someone logged in to the shop's admin can
  approve: the request must carry the merchant's cookie (`merchant_cookie(shop)`), otherwise
  403. An unknown app or shop is 400 / 404, as on Shopify.
- `POST /shops/<shop>/admin/oauth/access_token` with `client_id`, `client_secret`, `code`
  (JSON or form) answers `{"access_token", "scope"}` once per code; anything else is 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, jsonify, redirect, request
from flask.typing import ResponseReturnValue

from devtools.fake_shopify.store import ShopData

MERCHANT_COOKIE = "_fake_shopify_merchant"


@dataclass
class Grant:
    client_id: str
    shop: str
    scope: str


@dataclass
class FakeOAuth:
    """Apps (client id -> secret), merchants' admin sessions, and codes not yet exchanged."""

    apps: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)
    codes: dict[str, Grant] = field(default_factory=dict)

    def add_app(self, client_id: str, client_secret: str) -> None:
        self.apps[client_id] = client_secret

    def merchant_cookie(self, shop: str) -> str:
        """The admin session of the shop's merchant (a browser logged in to the shop)."""
        return self.sessions.setdefault(shop, secrets.token_urlsafe(24))


def sign_params(params: dict[str, str], secret: str) -> str:
    """Shopify's hmac of a redirect's parameters."""
    message = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def install_oauth_routes(app: Flask, oauth: FakeOAuth, shops: dict[str, ShopData]) -> None:
    """Add the authorize and access_token endpoints to the fake's app (`shops` by token)."""

    def token_of(domain: str) -> str | None:
        return next((s.token for s in shops.values() if s.domain == domain), None)

    @app.get("/shops/<shop>/admin/oauth/authorize")
    def authorize(shop: str) -> ResponseReturnValue:
        client_id = request.args.get("client_id", "")
        redirect_uri = request.args.get("redirect_uri", "")
        if client_id not in oauth.apps or urlsplit(redirect_uri).scheme not in ("http", "https"):
            return jsonify(errors="Oauth error invalid_request"), 400
        if token_of(shop) is None:
            return jsonify(errors="Not Found"), 404
        session = request.cookies.get(MERCHANT_COOKIE)
        if session is None or session != oauth.sessions.get(shop):
            return jsonify(errors="Log in to the shop's admin to approve the app"), 403
        code = secrets.token_hex(16)
        oauth.codes[code] = Grant(client_id, shop, request.args.get("scope", ""))
        params = {
            "code": code,
            "host": base64.urlsafe_b64encode(f"{shop}/admin".encode()).decode().rstrip("="),
            "shop": shop,
            "state": request.args.get("state", ""),
            "timestamp": str(int(time.time())),
        }
        params["hmac"] = sign_params(params, oauth.apps[client_id])
        return redirect(f"{redirect_uri}?{urlencode(params)}", code=302)

    @app.post("/shops/<shop>/admin/oauth/access_token")
    def access_token(shop: str) -> tuple[Response, int]:
        body = request.get_json(silent=True) if request.is_json else request.form
        body = body if isinstance(body, dict) else {}
        grant = oauth.codes.pop(str(body.get("code", "")), None)
        client_id = str(body.get("client_id", ""))
        secret_ok = hmac.compare_digest(
            oauth.apps.get(client_id, "\0"), str(body.get("client_secret", ""))
        )
        token = token_of(shop)
        valid = grant is not None and grant.shop == shop and grant.client_id == client_id
        if not valid or not secret_ok or token is None or grant is None:
            return jsonify(
                error="invalid_request",
                error_description="The authorization code was not found or was already used",
            ), 400
        return jsonify(access_token=token, scope=grant.scope), 200
