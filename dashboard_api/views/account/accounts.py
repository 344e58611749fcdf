"""Registration, login, token refresh and logout."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request

from dashboard_api.accounts.passwords import hash_password, needs_rehash, verify_password
from dashboard_api.accounts.ratelimit import LoginLimiter
from dashboard_api.accounts.registration import register_tenant
from dashboard_api.accounts.schemas import LoginIn, RefreshIn, RegisterIn, RegisterOut, TokensOut
from dashboard_api.accounts.sessions import (
    Refresh,
    issue_refresh_token,
    revoke_refresh_token,
    rotate_refresh_token,
    tenant_of,
)
from dashboard_api.accounts.users import find_login, load_user, record_login
from dashboard_api.api import Blueprint
from dashboard_api.auth import authenticate, bearer_token
from dashboard_api.context import current_redis, current_settings
from dashboard_api.db import anonymous_session, tenant_session
from dashboard_api.errors import ApiError, Unauthorized
from dashboard_api.tokens import (
    bump_generation,
    current_generation,
    issue_access_token,
    revoke_access_token,
)
from models.accounts import User

blp = Blueprint("accounts", __name__, description="Register a tenant, log in and out")

BAD_LOGIN = "The email address or the password is wrong."


def token_payload(user: User, refresh_token: str) -> dict[str, Any]:
    """The body of a successful login or refresh."""
    settings = current_settings()
    generation = current_generation(settings, current_redis(), user.id)
    access = issue_access_token(
        settings,
        tenant_id=user.tenant_id,
        user_id=user.id,
        role=user.role,
        email=user.email,
        generation=generation,
    )
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": settings.access_token_seconds,
        "refresh_token": refresh_token,
        "refresh_expires_in": settings.refresh_token_seconds,
        "user": user,
        "tenant_id": user.tenant_id,
    }


@blp.route("/tenants/register", methods=["POST"])
@blp.arguments(RegisterIn)
@blp.response(201, RegisterOut)
@blp.alt_response(409, response="CONFLICT")
def register(data: dict[str, Any]) -> dict[str, Any]:
    """Create a tenant (a Shopify shop) and its owner; webhooks are accepted at once."""
    settings = current_settings()
    tenant_id = uuid.uuid4()
    password_hash = hash_password(data["password"])
    with tenant_session(settings, tenant_id) as session:
        tenant, owner = register_tenant(
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
    return {"tenant": tenant, "user": owner}


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginIn)
@blp.response(200, TokensOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Exchange email and password for an access token and a refresh token."""
    settings = current_settings()
    email = data["email"].strip().lower()
    address = request.remote_addr or "unknown"
    limiter = LoginLimiter(settings, current_redis())
    limiter.check(email, address)
    with anonymous_session(settings) as session:
        record = find_login(session, email)
    # An unknown user costs one hash check too, so timing does not tell who has an account.
    matches = verify_password(record.password_hash if record else None, data["password"])
    if record is None or not matches:
        limiter.record_failure(email, address)
        raise Unauthorized(BAD_LOGIN, code="invalid_credentials")
    limiter.reset_account(email)
    new_hash = hash_password(data["password"]) if needs_rehash(record.password_hash) else None
    with tenant_session(settings, record.tenant_id) as session:
        user = load_user(session, tenant_id=record.tenant_id, user_id=record.user_id)
        if user is None:
            raise Unauthorized(BAD_LOGIN, code="invalid_credentials")
        record_login(session, user, new_hash=new_hash)
        refresh = issue_refresh_token(
            session,
            tenant_id=user.tenant_id,
            user_id=user.id,
            ttl_seconds=settings.refresh_token_seconds,
        )
    return token_payload(user, refresh)


def _invalid_refresh() -> ApiError:
    return Unauthorized("The refresh token is invalid, expired or revoked.", code="invalid_token")


@blp.route("/token/refresh", methods=["POST"])
@blp.arguments(RefreshIn)
@blp.response(200, TokensOut)
@blp.alt_response(401, response="UNAUTHORIZED")
def refresh(data: dict[str, Any]) -> dict[str, Any]:
    """Exchange a refresh token for new tokens; the old refresh token stops working."""
    settings = current_settings()
    tenant_id = tenant_of(data["refresh_token"])
    if tenant_id is None:
        raise _invalid_refresh()
    with tenant_session(settings, tenant_id) as session:
        result = rotate_refresh_token(
            session,
            tenant_id=tenant_id,
            token=data["refresh_token"],
            ttl_seconds=settings.refresh_token_seconds,
        )
        user = None
        if result.outcome is Refresh.ROTATED and result.user_id is not None:
            user = load_user(session, tenant_id=tenant_id, user_id=result.user_id)
    # Outside the transaction: a reuse must commit the family revocation before answering 401.
    if result.outcome is Refresh.REUSED and result.user_id is not None:
        bump_generation(settings, current_redis(), result.user_id)
    if user is None or result.token is None:
        raise _invalid_refresh()
    return token_payload(user, result.token)


@blp.route("/logout", methods=["POST"])
@blp.arguments(RefreshIn)
@blp.response(204)
def logout(data: dict[str, Any]) -> None:
    """Revoke the refresh token (and the access token, when one is sent).

    Answers 204 for unknown tokens too, as OAuth token revocation does (RFC 7009).
    """
    settings = current_settings()
    tenant_id = tenant_of(data["refresh_token"])
    if tenant_id is not None:
        with tenant_session(settings, tenant_id) as session:
            revoke_refresh_token(session, tenant_id=tenant_id, token=data["refresh_token"])
    if bearer_token(request.headers.get("Authorization")):
        try:
            principal = authenticate()
        except Unauthorized:
            return
        revoke_access_token(settings, current_redis(), principal.claims)
