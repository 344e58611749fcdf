"""Device cookies (OWASP "Slow Down Online Guessing Attacks with Device Cookies").

A successful login leaves a signed, HttpOnly cookie naming the account. A later login for that
account that presents it is from a client that knew the password before: the account-wide and
address-wide failure limits, which an attacker can drive up from anywhere, do not apply to it;
its own failures are counted per cookie instead.
"""

from __future__ import annotations

import hashlib
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.settings import Settings
from dashboard_api.tokens import derived_keys

COOKIE_NAME = "cartwheel_device"
COOKIE_PATH = "/login"  # sent with login attempts only
_PURPOSE = b"cartwheel-device-cookie"


def account_id(email: str) -> str:
    """A stable, non-reversible name of the account (keys and cookies never hold an email)."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    # itsdangerous signs with the last key and accepts all: oldest first.
    keys = list(reversed(derived_keys(settings.secret_keys, _PURPOSE)))
    return URLSafeTimedSerializer(keys, salt="device")


def issue_device_cookie(settings: Settings, email: str) -> str:
    """A new cookie value for a client that just logged in to this account."""
    return _serializer(settings).dumps({"a": account_id(email), "n": secrets.token_hex(16)})


def device_of(settings: Settings, cookie: str | None, email: str) -> str | None:
    """The device's id when the cookie is genuine, recent and for this account, else None."""
    if not cookie or len(cookie) > 512:
        return None
    try:
        data = _serializer(settings).loads(cookie, max_age=settings.device_cookie_seconds)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("a") != account_id(email):
        return None
    nonce = data.get("n")
    return nonce if isinstance(nonce, str) else None
