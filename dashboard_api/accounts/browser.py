"""Browser sessions: the web dashboard's tokens live in cookies that scripts cannot read.

A browser sign-in (POST /login/session) leaves three cookies, all `Secure` and
`SameSite=Strict`:

- the access token (HttpOnly, every path), which the API takes in place of a bearer header;
- the refresh token (HttpOnly, only sent to /login/session), rotated on every refresh;
- a CSRF token (readable by the page's script), an HMAC of the session id: a request that an
  access cookie authenticates and that may change something (any method but GET, HEAD and
  OPTIONS) must echo it in the `X-CSRF-Token` header, which another site can neither read
  nor set (OWASP's signed double-submit cookie).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

from flask import Response

from core.settings import Settings
from dashboard_api.tokens import derived_keys

ACCESS_COOKIE = "cartwheel_access"
REFRESH_COOKIE = "cartwheel_refresh"
CSRF_COOKIE = "cartwheel_csrf"
CSRF_HEADER = "X-CSRF-Token"
# The refresh cookie goes only with sign-in, refresh and sign-out.
REFRESH_PATH = "/login/session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_PURPOSE = b"cartwheel-csrf"


def _mac(key: bytes, session_id: uuid.UUID) -> str:
    digest = hmac.new(key, b"csrf:" + session_id.bytes, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def csrf_token(settings: Settings, session_id: uuid.UUID) -> str:
    """The CSRF token of a session (signed with the newest key)."""
    return _mac(derived_keys(settings.secret_keys, _PURPOSE)[0], session_id)


def csrf_matches(settings: Settings, session_id: uuid.UUID, presented: str | None) -> bool:
    """Whether `presented` is the session's CSRF token under any configured key."""
    if not presented:
        return False
    return any(
        hmac.compare_digest(_mac(key, session_id), presented)
        for key in derived_keys(settings.secret_keys, _PURPOSE)
    )


def set_session_cookies(
    response: Response,
    settings: Settings,
    *,
    access_token: str,
    refresh_token: str,
    refresh_seconds: int,
    session_id: uuid.UUID,
) -> None:
    """Leave a browser session's three cookies on the response."""
    cookies = (
        (ACCESS_COOKIE, access_token, settings.access_token_seconds, "/", True),
        (REFRESH_COOKIE, refresh_token, refresh_seconds, REFRESH_PATH, True),
        (CSRF_COOKIE, csrf_token(settings, session_id), refresh_seconds, "/", False),
    )
    for name, value, max_age, path, httponly in cookies:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path=path,
            secure=True,
            httponly=httponly,
            samesite="Strict",
        )


def clear_session_cookies(response: Response) -> None:
    """Expire a browser session's cookies."""
    for name, path in ((ACCESS_COOKIE, "/"), (REFRESH_COOKIE, REFRESH_PATH), (CSRF_COOKIE, "/")):
        response.delete_cookie(name, path=path, secure=True, samesite="Strict")
