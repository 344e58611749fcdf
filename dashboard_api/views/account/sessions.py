"""The caller's own sessions and password, and password resets with a one-time token."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from flask import request

from dashboard_api.accounts.passwords import hash_password, password_problems, verify_password
from dashboard_api.accounts.ratelimit import LoginLimiter
from dashboard_api.accounts.resets import redeem_reset
from dashboard_api.accounts.schemas import PasswordChangeIn, PasswordResetIn, SessionOut
from dashboard_api.accounts.sessions import (
    list_sessions,
    revoke_sessions,
    revoke_user_tokens,
    tenant_of,
)
from dashboard_api.accounts.users import get_user, set_password
from dashboard_api.api import Blueprint
from dashboard_api.auth import current_principal, no_store, require_role
from dashboard_api.context import current_redis, current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import Invalid, Unauthorized
from dashboard_api.tokens import bump_generation
from dashboard_api.tokens import revoke_sessions as deny_sessions

blp = Blueprint("sessions", __name__, description="Your sessions and password")
blp.after_request(no_store)


@blp.route("/api/account/sessions", methods=["GET"])
@require_role()
@blp.response(200, SessionOut(many=True))
def sessions() -> Any:
    """Your live sessions (one per login), most recently used first."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        found = list_sessions(session, tenant_id=principal.tenant_id, user_id=principal.user_id)
    current = principal.claims.session_id
    return [{**asdict(s), "current": s.id == current} for s in found]


@blp.route("/api/account/sessions/<uuid:session_id>", methods=["DELETE"])
@require_role()
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
def end_session(session_id: uuid.UUID) -> None:
    """End one of your sessions (this one too): its tokens stop working at once."""
    _end_sessions(only=session_id)


@blp.route("/api/account/sessions", methods=["DELETE"])
@require_role()
@blp.response(204)
def end_other_sessions() -> None:
    """End every session of yours but this one."""
    _end_sessions(keep=current_principal().claims.session_id)


def _end_sessions(*, only: uuid.UUID | None = None, keep: uuid.UUID | None = None) -> None:
    principal = current_principal()
    settings = current_settings()
    with tenant_session(settings, principal.tenant_id) as session:
        ended = revoke_sessions(
            session, tenant_id=principal.tenant_id, user_id=principal.user_id, only=only, keep=keep
        )
        # Before the commit: if Redis fails, the refresh tokens stay valid too (no half state).
        deny_sessions(settings, current_redis(), ended)


@blp.route("/api/account/password", methods=["POST"])
@require_role()
@blp.arguments(PasswordChangeIn)
@blp.response(204)
@blp.alt_response(429, response="TOO_MANY_REQUESTS")
def change_password(data: dict[str, Any]) -> None:
    """Change your password; every other session of yours ends, this one continues."""
    principal = current_principal()
    settings = current_settings()
    # Guesses of the current password with a stolen access token count like failed logins.
    limiter = LoginLimiter(settings, current_redis())
    address = request.remote_addr or "unknown"
    limiter.check(principal.email, address, None)
    with tenant_session(settings, principal.tenant_id) as session:
        user = get_user(session, tenant_id=principal.tenant_id, user_id=principal.user_id)
        if not verify_password(user.password_hash, data["current_password"]):
            limiter.record_failure(principal.email, address, None)
            raise Invalid(
                "The current password is wrong.",
                code="wrong_password",
                fields={"current_password": ["The current password is wrong."]},
            )
        _check_strength(data["new_password"], user.email, field="new_password")
        set_password(session, user, hash_password(data["new_password"]))
        ended = revoke_sessions(
            session,
            tenant_id=principal.tenant_id,
            user_id=principal.user_id,
            keep=principal.claims.session_id,
        )
        deny_sessions(settings, current_redis(), ended)


@blp.route("/password/reset", methods=["POST"])
@blp.arguments(PasswordResetIn)
@blp.response(204)
@blp.alt_response(401, response="UNAUTHORIZED")
def reset_password(data: dict[str, Any]) -> None:
    """Set a new password with a one-time reset token from an owner; every session of the
    user ends (then log in)."""
    settings = current_settings()
    tenant_id = tenant_of(data["token"])
    if tenant_id is None:
        raise Unauthorized(
            "The reset token is invalid, expired or already used.", code="invalid_reset_token"
        )
    with tenant_session(settings, tenant_id) as session:
        user = redeem_reset(session, tenant_id=tenant_id, token=data["token"])
        _check_strength(data["password"], user.email, field="password")
        set_password(session, user, hash_password(data["password"]))
        revoke_user_tokens(session, tenant_id=tenant_id, user_id=user.id)
        bump_generation(settings, current_redis(), user.id)


def _check_strength(password: str, email: str, *, field: str) -> None:
    problems = password_problems(password, email=email)
    if problems:
        raise Invalid("The request is invalid.", fields={field: problems})
