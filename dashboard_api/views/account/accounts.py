"""Registration, login, token refresh and logout."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Response, after_this_request, request

from dashboard_api.accounts.devices import (
    COOKIE_NAME,
    COOKIE_PATH,
    device_of,
    issue_device_cookie,
)
from dashboard_api.accounts.passwords import hash_password, needs_rehash, verify_password
from dashboard_api.accounts.ratelimit import LoginLimiter
from dashboard_api.accounts.registration import RegistrationLimiter, register_tenant
from dashboard_api.accounts.schemas import (
    LoginIn,
    RefreshIn,
    RegisterIn,
    RegistrationOut,
    TokensOut,
)
from dashboard_api.accounts.sessions import (
    Issued,
    Refresh,
    revoke_refresh_token,
    rotate_refresh_token,
    session_of,
    start_session,
    tenant_of,
)
from dashboard_api.accounts.users import find_login, load_user, record_login
from dashboard_api.api import Blueprint
from dashboard_api.auth import authenticate, bearer_token, no_store
from dashboard_api.context import current_redis, current_settings
from dashboard_api.db import anonymous_session, tenant_session
from dashboard_api.errors import ApiError, Unauthorized
from dashboard_api.tokens import (
    bump_generation,
    current_generation,
    issue_access_token,
    revoke_access_token,
    revoke_sessions,
)
from models.accounts import User

blp = Blueprint("accounts", __name__, description="Register a tenant, log in and out")
blp.after_request(no_store)

BAD_LOGIN = "The email address or the password is wrong."


def token_payload(user: User, issued: Issued) -> dict[str, Any]:
    """The body of a successful login or refresh (or of a password change, which keeps the
    session)."""
    settings = current_settings()
    generation = current_generation(settings, current_redis(), user.id)
    access = issue_access_token(
        settings,
        tenant_id=user.tenant_id,
        user_id=user.id,
        role=user.role,
        email=user.email,
        generation=generation,
        session_id=issued.session_id,
    )
    refresh_left = (issued.expires_at - datetime.now(UTC)).total_seconds()
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": settings.access_token_seconds,
        "refresh_token": issued.token,
        "refresh_expires_in": max(0, int(refresh_left)),
        "user": user,
        "tenant_id": user.tenant_id,
    }


REGISTERED = (
    "If the address has no account yet, the tenant and its owner now exist: log in and prove "
    "control of the shop (POST /api/tenant/verification/...) before webhooks are accepted."
)


@blp.route("/tenants/register", methods=["POST"])
@blp.arguments(RegisterIn)
@blp.response(202, RegistrationOut)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def register(data: dict[str, Any]) -> dict[str, Any]:
    """Claim a shop: create an unverified tenant and its owner.

    The answer is the same whether or not the shop or the email address is known already:
    nothing is created for an address that has an account (a deployment that sends mail
    would write to it). Rate-limited per client address.
    """
    settings = current_settings()
    RegistrationLimiter(settings, current_redis()).take(request.remote_addr or "unknown")
    tenant_id = uuid.uuid4()
    password_hash = hash_password(data["password"])
    with tenant_session(settings, tenant_id) as session:
        register_tenant(
            session,
            tenant_id=tenant_id,
            name=data["name"],
            shop_domain=data["store_url"],
            timezone=data["timezone"],
            webhook_secret=data["webhook_secret"],
            secret_keys=settings.secret_keys,
            email=data["email"],
            password_hash=password_hash,
        )
    return {"status": "accepted", "message": REGISTERED}


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginIn)
@blp.response(200, TokensOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for an access token and a refresh token."""
    return token_payload(*sign_in(data["email"], data["password"]))


def sign_in(email: str, password: str) -> tuple[User, Issued]:
    """Check a login (rate-limited, device cookies honoured) and start a session; raises
    Unauthorized (401) or RateLimited (429)."""
    settings = current_settings()
    email = email.strip().lower()
    # Behind proxy_hops proxies, ProxyFix has set remote_addr from X-Forwarded-For.
    address = request.remote_addr or "unknown"
    device = device_of(settings, request.cookies.get(COOKIE_NAME), email)
    limiter = LoginLimiter(settings, current_redis())
    limiter.check(email, address, device)
    with anonymous_session(settings) as session:
        record = find_login(session, email)
    # An unknown user costs one hash check too, so timing does not tell who has an account.
    matches = verify_password(record.password_hash if record else None, password)
    if record is None or not matches:
        limiter.record_failure(email, address, device)
        raise Unauthorized(BAD_LOGIN, code="invalid_credentials")
    limiter.record_success(email, address, device)
    new_hash = hash_password(password) if needs_rehash(record.password_hash) else None
    with tenant_session(settings, record.tenant_id) as session:
        user = load_user(session, tenant_id=record.tenant_id, user_id=record.user_id)
        if user is None:
            raise Unauthorized(BAD_LOGIN, code="invalid_credentials")
        record_login(session, user, new_hash=new_hash)
        issued = start_session(
            session,
            tenant_id=user.tenant_id,
            user_id=user.id,
            ttl_seconds=settings.refresh_token_seconds,
            max_seconds=settings.session_max_seconds,
            user_agent=request.user_agent.string,
        )
    _remember_device(issue_device_cookie(settings, email))
    return user, issued


def _remember_device(cookie: str) -> None:
    """Leave the device cookie that exempts this client from account-wide login limits."""
    max_age = current_settings().device_cookie_seconds

    @after_this_request
    def _set(response: Response) -> Response:
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=max_age,
            path=COOKIE_PATH,
            secure=True,
            httponly=True,
            samesite="Strict",
        )
        return response


def _invalid_refresh() -> ApiError:
    return Unauthorized("The refresh token is invalid, expired or revoked.", code="invalid_token")


@blp.route("/token/refresh", methods=["POST"])
@blp.arguments(RefreshIn)
@blp.response(200, TokensOut)
@blp.alt_response(401, response="UNAUTHORIZED")
def refresh(data: dict[str, Any]) -> dict[str, Any]:
    """Exchange a refresh token for new tokens; the old refresh token stops working."""
    return token_payload(*rotate(data["refresh_token"]))


def rotate(refresh_token: str) -> tuple[User, Issued]:
    """The user and the new session token for a refresh token; raises Unauthorized (401). A
    reused token revokes its whole family first (docs/security.md)."""
    settings = current_settings()
    tenant_id = tenant_of(refresh_token)
    if tenant_id is None:
        raise _invalid_refresh()
    with tenant_session(settings, tenant_id) as session:
        result = rotate_refresh_token(
            session,
            tenant_id=tenant_id,
            token=refresh_token,
            ttl_seconds=settings.refresh_token_seconds,
        )
        user = None
        if result.outcome is Refresh.ROTATED and result.user_id is not None:
            user = load_user(session, tenant_id=tenant_id, user_id=result.user_id)
    # Outside the transaction: a reuse must commit the family revocation before answering 401.
    if result.outcome is Refresh.REUSED and result.user_id is not None:
        bump_generation(settings, current_redis(), result.user_id)
    if user is None or result.issued is None:
        raise _invalid_refresh()
    return user, result.issued


@blp.route("/logout", methods=["POST"])
@blp.arguments(RefreshIn)
@blp.response(204)
def logout(data: dict[str, Any]) -> None:
    """End the session of the refresh token: it and the session's access tokens stop working.

    Answers 204 for unknown tokens too, as OAuth token revocation does (RFC 7009).
    """
    sign_out(data["refresh_token"])
    if bearer_token(request.headers.get("Authorization")):
        try:
            principal = authenticate()
        except Unauthorized:
            return
        revoke_access_token(current_settings(), current_redis(), principal.claims)


def sign_out(refresh_token: str) -> None:
    """End the session of a refresh token, and its access tokens; unknown tokens are ignored."""
    settings = current_settings()
    tenant_id = tenant_of(refresh_token)
    if tenant_id is None:
        return
    with tenant_session(settings, tenant_id) as session:
        if revoke_refresh_token(session, tenant_id=tenant_id, token=refresh_token):
            ended = session_of(session, tenant_id=tenant_id, token=refresh_token)
            revoke_sessions(settings, current_redis(), [ended] if ended else [])
