"""Who is calling: `require_role(...)` checks the access token (a bearer header or a browser
session's cookie) and sets `g.principal`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Response, g, request

from dashboard_api.accounts.browser import ACCESS_COOKIE, CSRF_HEADER, SAFE_METHODS, csrf_matches
from dashboard_api.context import current_redis, current_settings
from dashboard_api.errors import Forbidden, Unauthorized
from dashboard_api.tokens import AccessClaims, TokenError, is_revoked, read_access_token
from models.accounts import ROLES

SECURITY_SCHEME = "bearerAuth"
BEARER_SCHEME = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
# For views that read, and views that change things: analysts are read-only.
READ_ROLES = ROLES
WRITE_ROLES = ("owner", "admin")

# Answers that carry tokens or secrets: no browser or proxy cache may keep them (RFC 6749, 5.1).
NO_STORE_HEADERS = {"Cache-Control": "no-store", "Pragma": "no-cache"}

F = TypeVar("F", bound=Callable[..., Any])


def no_store(response: Response) -> Response:
    """An `after_request` hook for blueprints whose answers carry tokens or secrets."""
    response.headers.update(NO_STORE_HEADERS)
    return response


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user of this request."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    email: str
    claims: AccessClaims


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _unauthorized(code: str, message: str) -> Unauthorized:
    return Unauthorized(
        message,
        code=code,
        headers={"WWW-Authenticate": f'Bearer realm="cartwheel", error="{code}"'},
    )


def authenticate() -> Principal:
    """The caller's principal from the bearer access token, else from a browser session's
    access cookie (with its CSRF token on anything that may change something:
    dashboard_api/accounts/browser.py); raises Unauthorized (401) or Forbidden (403)."""
    token = bearer_token(request.headers.get("Authorization"))
    from_cookie = token is None and bool(request.cookies.get(ACCESS_COOKIE))
    if from_cookie:
        token = request.cookies[ACCESS_COOKIE]
    if token is None:
        raise _unauthorized("missing_token", "An `Authorization: Bearer <token>` is required.")
    settings = current_settings()
    try:
        claims = read_access_token(settings, token)
    except TokenError as exc:
        raise _unauthorized("invalid_token", "The access token is invalid or expired.") from exc
    if is_revoked(settings, current_redis(), claims):
        raise _unauthorized("invalid_token", "The access token is invalid or expired.")
    if (
        from_cookie
        and request.method not in SAFE_METHODS
        and not csrf_matches(settings, claims.session_id, request.headers.get(CSRF_HEADER))
    ):
        raise Forbidden(
            f"A browser session must send its CSRF token in the {CSRF_HEADER} header.",
            code="csrf_failed",
        )
    return Principal(claims.tenant_id, claims.user_id, claims.role, claims.email, claims)


def current_principal() -> Principal:
    """The principal `require_role` authenticated for this request."""
    return cast(Principal, g.principal)


def require_role(*roles: str) -> Callable[[F], F]:
    """Only users with one of `roles` (any role when none given) may call the view."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s): {sorted(unknown)}")
    allowed = roles or ROLES

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            principal = authenticate()
            g.principal = principal
            if principal.role not in allowed:
                raise Forbidden(
                    f"The {principal.role} role may not do this; it needs: {', '.join(allowed)}."
                )
            return view(*args, **kwargs)

        _document(wrapper, forbidden=set(allowed) != set(ROLES))
        return cast(F, wrapper)

    return decorator


def _document(view: Any, *, forbidden: bool) -> None:
    """Add the bearer security requirement and the 401/403 answers to the OpenAPI operation."""
    doc = deepcopy(getattr(view, "_apidoc", {}))
    manual = doc.setdefault("manual_doc", {})
    manual["security"] = [{SECURITY_SCHEME: []}]
    responses = doc.setdefault("response", {}).setdefault("responses", {})
    responses.setdefault(401, []).append("UNAUTHORIZED")
    if forbidden:
        responses.setdefault(403, []).append("FORBIDDEN")
    view._apidoc = doc
