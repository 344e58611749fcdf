"""Browser sessions for the web dashboard: sign in, refresh and sign out with cookies.

The same accounts, limits and sessions as POST /login, /token/refresh and /logout; the tokens
travel in cookies scripts cannot read (dashboard_api/accounts/browser.py).
"""

from __future__ import annotations

import contextlib
import hmac
from typing import Any

from flask import Response, after_this_request, request

from dashboard_api.accounts.browser import (
    ACCESS_COOKIE,
    CSRF_COOKIE,
    CSRF_HEADER,
    REFRESH_COOKIE,
    clear_session_cookies,
    set_session_cookies,
)
from dashboard_api.accounts.schemas import BrowserSessionOut, LoginIn
from dashboard_api.api import Blueprint
from dashboard_api.auth import no_store
from dashboard_api.context import current_redis, current_settings
from dashboard_api.errors import Forbidden, Unauthorized
from dashboard_api.tokens import TokenError, read_access_token, revoke_access_token
from dashboard_api.views.account.accounts import rotate, sign_in, sign_out, token_payload

blp = Blueprint(
    "browser_sessions",
    __name__,
    url_prefix="/login/session",
    description="Sessions of the web dashboard, kept in HttpOnly cookies",
)
blp.after_request(no_store)


@blp.route("", methods=["POST"])
@blp.arguments(LoginIn)
@blp.response(200, BrowserSessionOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def start(data: dict[str, Any]) -> dict[str, Any]:
    """Sign a browser in: the access, refresh and CSRF tokens come back as cookies."""
    return _with_cookies(token_payload(*sign_in(data["email"], data["password"])))


@blp.route("/refresh", methods=["POST"])
@blp.response(200, BrowserSessionOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
def refresh() -> dict[str, Any]:
    """New cookies for the session of the refresh cookie (which stops working); the request
    echoes the CSRF cookie in `X-CSRF-Token`."""
    _check_csrf()
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise Unauthorized("There is no browser session: sign in.", code="missing_token")
    return _with_cookies(token_payload(*rotate(token)))


@blp.route("", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(403, response="FORBIDDEN")
def end() -> None:
    """Sign the browser out: its session and access token stop working, its cookies go."""
    _check_csrf()
    if token := request.cookies.get(REFRESH_COOKIE):
        sign_out(token)
    if access := request.cookies.get(ACCESS_COOKIE):
        settings = current_settings()
        with contextlib.suppress(TokenError):  # expired or forged: nothing to revoke
            revoke_access_token(settings, current_redis(), read_access_token(settings, access))

    @after_this_request
    def _clear(response: Response) -> Response:
        clear_session_cookies(response)
        return response


def _check_csrf() -> None:
    presented, expected = request.headers.get(CSRF_HEADER), request.cookies.get(CSRF_COOKIE)
    if not presented or not expected or not hmac.compare_digest(presented, expected):
        raise Forbidden(
            f"Send the CSRF cookie's value in the {CSRF_HEADER} header.", code="csrf_failed"
        )


def _with_cookies(payload: dict[str, Any]) -> dict[str, Any]:
    """The answer without its tokens, which go into the cookies."""
    settings = current_settings()
    access, refresh_token = payload.pop("access_token"), payload.pop("refresh_token")
    session_id = read_access_token(settings, access).session_id

    @after_this_request
    def _set(response: Response) -> Response:
        set_session_cookies(
            response,
            settings,
            access_token=access,
            refresh_token=refresh_token,
            refresh_seconds=payload["refresh_expires_in"],
            session_id=session_id,
        )
        return response

    return payload
