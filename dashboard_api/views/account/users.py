"""The tenant's users: roles, removal, their sessions, password resets, and invites."""

from __future__ import annotations

import uuid
from typing import Any

from dashboard_api.accounts.invites import (
    accept_invite,
    create_invite,
    find_pending_invite,
    invite_status,
    list_invites,
    revoke_invite,
)
from dashboard_api.accounts.passwords import hash_password, password_problems
from dashboard_api.accounts.registration import get_tenant
from dashboard_api.accounts.resets import create_reset
from dashboard_api.accounts.schemas import (
    InviteAcceptIn,
    InviteCreatedOut,
    InviteIn,
    InviteOut,
    RegisterOut,
    ResetCreatedOut,
    RoleIn,
    UserOut,
)
from dashboard_api.accounts.sessions import revoke_user_tokens, tenant_of
from dashboard_api.accounts.users import change_role, get_user, list_users, remove_user
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, WRITE_ROLES, current_principal, no_store, require_role
from dashboard_api.context import current_redis, current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import Forbidden, Invalid, Unauthorized
from dashboard_api.tokens import bump_generation
from models.accounts import Invite

blp = Blueprint("users", __name__, description="Users, roles and invites of the tenant")
blp.after_request(no_store)


def _invite_out(invite: Invite, token: str | None = None) -> dict[str, Any]:
    out = {c: getattr(invite, c) for c in ("id", "email", "role", "invited_by")}
    out.update(
        created_at=invite.created_at, expires_at=invite.expires_at, status=invite_status(invite)
    )
    if token is not None:
        out["token"] = token
    return out


@blp.route("/api/users", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, UserOut(many=True))
def users() -> Any:
    """Every user of the tenant."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return list_users(session, tenant_id=principal.tenant_id)


@blp.route("/api/users/<uuid:user_id>", methods=["GET"])
@require_role(*READ_ROLES)
@blp.response(200, UserOut)
@blp.alt_response(404, response="NOT_FOUND")
def user(user_id: uuid.UUID) -> Any:
    """One user of the tenant."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return get_user(session, tenant_id=principal.tenant_id, user_id=user_id)


@blp.route("/api/users/<uuid:user_id>", methods=["PATCH"])
@require_role(*WRITE_ROLES)
@blp.arguments(RoleIn)
@blp.response(200, UserOut)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def set_role(data: dict[str, Any], user_id: uuid.UUID) -> Any:
    """Change a user's role; the user's current access tokens stop working."""
    principal = current_principal()
    settings = current_settings()
    with tenant_session(settings, principal.tenant_id) as session:
        changed = change_role(
            session,
            tenant_id=principal.tenant_id,
            actor_role=principal.role,
            user_id=user_id,
            role=data["role"],
        )
    bump_generation(settings, current_redis(), changed.id)
    return changed


@blp.route("/api/users/<uuid:user_id>", methods=["DELETE"])
@require_role(*WRITE_ROLES)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def remove(user_id: uuid.UUID) -> None:
    """Remove a user: their access and refresh tokens stop working at once, their pending
    invites with them; ingest keys they created keep working."""
    principal = current_principal()
    settings = current_settings()
    with tenant_session(settings, principal.tenant_id) as session:
        remove_user(
            session, tenant_id=principal.tenant_id, actor_role=principal.role, user_id=user_id
        )
        # Before the commit: a Redis failure leaves the user in place rather than half removed.
        bump_generation(settings, current_redis(), user_id)


@blp.route("/api/users/<uuid:user_id>/sessions", methods=["DELETE"])
@require_role(*WRITE_ROLES)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
def end_sessions(user_id: uuid.UUID) -> None:
    """End every session of a user (only owners end an owner's)."""
    principal = current_principal()
    settings = current_settings()
    with tenant_session(settings, principal.tenant_id) as session:
        target = get_user(session, tenant_id=principal.tenant_id, user_id=user_id)
        if target.role == "owner" and principal.role != "owner":
            raise Forbidden("Only an owner may end an owner's sessions.")
        revoke_user_tokens(session, tenant_id=principal.tenant_id, user_id=user_id)
        bump_generation(settings, current_redis(), user_id)


@blp.route("/api/users/<uuid:user_id>/password-reset", methods=["POST"])
@require_role("owner")
@blp.response(201, ResetCreatedOut)
@blp.alt_response(404, response="NOT_FOUND")
def password_reset(user_id: uuid.UUID) -> Any:
    """A one-time token (shown once) with which the user sets a new password at
    `POST /password/reset`; it expires after password_reset_seconds."""
    principal = current_principal()
    settings = current_settings()
    with tenant_session(settings, principal.tenant_id) as session:
        get_user(session, tenant_id=principal.tenant_id, user_id=user_id)
        reset, token = create_reset(
            session,
            tenant_id=principal.tenant_id,
            user_id=user_id,
            created_by=principal.user_id,
            ttl_seconds=settings.password_reset_seconds,
        )
        return {"user_id": user_id, "expires_at": reset.expires_at, "token": token}


@blp.route("/api/invites", methods=["GET"])
@require_role(*WRITE_ROLES)
@blp.response(200, InviteOut(many=True))
def invites() -> Any:
    """The tenant's invites, newest first, with their status."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        return [_invite_out(i) for i in list_invites(session, tenant_id=principal.tenant_id)]


@blp.route("/api/invites", methods=["POST"])
@require_role(*WRITE_ROLES)
@blp.arguments(InviteIn)
@blp.response(201, InviteCreatedOut)
@blp.alt_response(409, response="CONFLICT")
def invite(data: dict[str, Any]) -> Any:
    """Invite an email address with a role; the token in the answer is shown only once."""
    principal = current_principal()
    settings = current_settings()
    with tenant_session(settings, principal.tenant_id) as session:
        created, token = create_invite(
            session,
            tenant_id=principal.tenant_id,
            invited_by=principal.user_id,
            actor_role=principal.role,
            email=data["email"],
            role=data["role"],
            ttl_seconds=settings.invite_seconds,
        )
        return _invite_out(created, token)


@blp.route("/api/invites/<uuid:invite_id>", methods=["DELETE"])
@require_role(*WRITE_ROLES)
@blp.response(204)
@blp.alt_response(404, response="NOT_FOUND")
@blp.alt_response(409, response="CONFLICT")
def withdraw(invite_id: uuid.UUID) -> None:
    """Withdraw an invite that has not been accepted."""
    principal = current_principal()
    with tenant_session(current_settings(), principal.tenant_id) as session:
        revoke_invite(session, tenant_id=principal.tenant_id, invite_id=invite_id)


@blp.route("/invites/accept", methods=["POST"])
@blp.arguments(InviteAcceptIn)
@blp.response(201, RegisterOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(409, response="CONFLICT")
def accept(data: dict[str, Any]) -> Any:
    """Accept an invite: set a password and become a user of the tenant (then log in)."""
    tenant_id = tenant_of(data["token"])
    if tenant_id is None:
        raise Unauthorized("The invite is invalid, expired or already used.", code="invalid_invite")
    with tenant_session(current_settings(), tenant_id) as session:
        pending = find_pending_invite(session, tenant_id=tenant_id, token=data["token"])
        problems = password_problems(data["password"], email=pending.email)
        if problems:
            raise Invalid("The request is invalid.", fields={"password": problems})
        created = accept_invite(
            session, invite=pending, password_hash=hash_password(data["password"])
        )
        return {"tenant": get_tenant(session, tenant_id=tenant_id), "user": created}
