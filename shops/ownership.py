"""Proving control of a shop: Shopify's OAuth install flow for an app, or an Admin API token.

The checks are pure functions; the two calls to the shop (the code exchange and the `shop`
query) go only to `Settings.shop_url_template` filled with the shop's own domain, never to an
address a tenant chose, and follow no redirects. Response bodies are never passed on: a
tenant sees a code, the log keeps the status.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import requests

from core import egress
from core.errors import CartwheelError
from core.settings import Settings
from shops.registration import SHOP_PATTERN

log = logging.getLogger(__name__)

TIMEOUT = (5.0, 10.0)
API_VERSION = "2026-07"
SHOP_QUERY = "{ shop { myshopifyDomain } }"


class OwnershipError(CartwheelError, ValueError):
    """The proof offered does not show control of the shop; `code` says which check failed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def shop_url(settings: Settings, shop: str) -> str:
    """The base URL of the shop's admin (`https://<shop>` unless an operator says otherwise)."""
    if not SHOP_PATTERN.fullmatch(shop):
        raise OwnershipError("invalid_shop", "Not a *.myshopify.com shop domain.")
    return settings.shop_url_template.replace("{shop}", shop).rstrip("/")


def new_state() -> str:
    """A one-time nonce that ties an OAuth redirect to the flow that asked for it."""
    return secrets.token_urlsafe(32)


def authorize_url(settings: Settings, shop: str, state: str) -> str:
    """Where to send the merchant to install the app on their shop."""
    query = urlencode(
        {
            "client_id": settings.shopify_client_id,
            "scope": settings.shopify_scopes,
            "redirect_uri": settings.shopify_redirect_url,
            "state": state,
        }
    )
    return f"{shop_url(settings, shop)}/admin/oauth/authorize?{query}"


def query_hmac(params: Mapping[str, str], secret: str) -> str:
    """Shopify's signature of a redirect: HMAC-SHA256 (hex) of the decoded parameters other
    than `hmac` and `signature`, sorted by name, as `name=value` joined by `&`."""
    message = "&".join(
        f"{name}={value}"
        for name, value in sorted(params.items())
        if name not in ("hmac", "signature")
    )
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def check_redirect(params: Mapping[str, str], secret: str) -> str:
    """The shop of a genuine OAuth redirect; raises OwnershipError for a forged or odd one."""
    given = params.get("hmac", "")
    if not secret or not hmac.compare_digest(given.encode(), query_hmac(params, secret).encode()):
        raise OwnershipError("bad_signature", "The redirect's hmac does not verify.")
    shop = params.get("shop", "")
    if not SHOP_PATTERN.fullmatch(shop):
        raise OwnershipError("invalid_shop", "The redirect names no *.myshopify.com shop.")
    if not params.get("code"):
        raise OwnershipError("invalid_request", "The redirect carries no code.")
    return shop


def exchange_code(settings: Settings, shop: str, code: str) -> str:
    """The access token Shopify gives for an authorization code."""
    url = f"{shop_url(settings, shop)}/admin/oauth/access_token"
    body = {
        "client_id": settings.shopify_client_id,
        "client_secret": settings.shopify_client_secret,
        "code": code,
    }
    data = _post(settings, url, json=body, headers={})
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise OwnershipError("code_rejected", "The shop did not exchange the code.")
    return token


def shop_of_token(settings: Settings, shop: str, token: str) -> str:
    """The `myshopifyDomain` the shop's Admin API reports for an access token."""
    url = f"{shop_url(settings, shop)}/admin/api/{API_VERSION}/graphql.json"
    data = _post(
        settings, url, json={"query": SHOP_QUERY}, headers={"X-Shopify-Access-Token": token}
    )
    found = data.get("data")
    shop_node = found.get("shop") if isinstance(found, dict) else None
    domain = shop_node.get("myshopifyDomain") if isinstance(shop_node, dict) else None
    if not isinstance(domain, str):
        raise OwnershipError("token_rejected", "The shop did not accept the access token.")
    return domain.lower()


def check_token(settings: Settings, shop: str, token: str) -> None:
    """Raise OwnershipError unless the token answers for exactly this shop."""
    if shop_of_token(settings, shop, token) != shop:
        raise OwnershipError("token_rejected", "The access token belongs to another shop.")


def _session(settings: Settings) -> requests.Session:
    """The outbound policy: the shop's own host must be public; an operator's address is trusted."""
    if settings.shop_url_template == Settings.shop_url_template:
        return egress.public_session()
    return egress.trusted_session()


def _post(
    settings: Settings, url: str, *, json: dict[str, str], headers: dict[str, str]
) -> dict[str, Any]:
    try:
        with _session(settings) as session:
            response = session.post(url, json=json, headers=headers, timeout=TIMEOUT)
    except (requests.RequestException, egress.EgressRefused) as exc:
        log.warning("shop unreachable", extra={"url": url, "error": type(exc).__name__})
        raise OwnershipError("shop_unreachable", "The shop could not be reached.") from exc
    if response.status_code != 200:
        log.info("shop refused", extra={"url": url, "status": response.status_code})
        code = "code_rejected" if url.endswith("/access_token") else "token_rejected"
        raise OwnershipError(code, "The shop refused the request.")
    try:
        data = response.json()
    except ValueError as exc:
        raise OwnershipError("shop_unreachable", "The shop's answer is not JSON.") from exc
    return data if isinstance(data, dict) else {}
