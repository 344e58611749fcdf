"""Invites: an owner or admin invites an email with a role; the invitee sets a password."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from dashboard_api.accounts.users import claim_email, create_user, load_user, may_invite
from dashboard_api.errors import Conflict, Forbidden, NotFound, Unauthorized
from models.accounts import Invite, User, hash_token


def invite_status(invite: Invite, now: datetime | None = None) -> str:
    """pending, accepted, revoked or expired."""
    if invite.accepted_at is not None:
        return "accepted"
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at <= (now or datetime.now(UTC)):
        return "expired"
    return "pending"


def invites_of(tenant_id: uuid.UUID) -> Select[Invite]:
    return select(Invite).where(Invite.tenant_id == tenant_id)


def create_invite(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    invited_by: uuid.UUID,
    actor_role: str,
    email: str,
    role: str,
    ttl_seconds: int,
) -> tuple[Invite, str]:
    """A new invite and its token (`<tenant id>.<secret>`, shown once). A pending invite for
    the same address is replaced."""
    if role == "owner" and actor_role != "owner":
        raise Forbidden("Only an owner may invite another owner.")
    claim_email(session, email)
    session.execute(
        update(Invite)
        .where(
            Invite.tenant_id == tenant_id,
            Invite.email == email,
            Invite.accepted_at.is_(None),
            Invite.revoked_at.is_(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )
    token = f"{tenant_id}.{secrets.token_urlsafe(32)}"
    invite = Invite(
        tenant_id=tenant_id,
        email=email,
        role=role,
        token_hash=hash_token(token),
        invited_by=invited_by,
        expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds),
    )
    session.add(invite)
    session.flush()
    session.refresh(invite)
    return invite, token


def list_invites(session: Session, *, tenant_id: uuid.UUID) -> list[Invite]:
    """The tenant's invites, newest first."""
    return list(session.scalars(invites_of(tenant_id).order_by(Invite.created_at.desc())))


def revoke_invite(session: Session, *, tenant_id: uuid.UUID, invite_id: uuid.UUID) -> None:
    """Withdraw an invite; Conflict once it has been accepted, NotFound for another's id."""
    invite = session.scalar(invites_of(tenant_id).where(Invite.id == invite_id).with_for_update())
    if invite is None:
        raise NotFound("No such invite.")
    if invite.accepted_at is not None:
        raise Conflict("The invite was already accepted.", code="invite_accepted")
    if invite.revoked_at is None:
        invite.revoked_at = datetime.now(UTC)
        session.flush()


def find_pending_invite(session: Session, *, tenant_id: uuid.UUID, token: str) -> Invite:
    """The pending invite this token belongs to; Unauthorized when invalid, used or expired."""
    invite = session.scalar(
        invites_of(tenant_id).where(Invite.token_hash == hash_token(token)).with_for_update()
    )
    if invite is None or invite_status(invite) != "pending":
        raise Unauthorized("The invite is invalid, expired or already used.", code="invalid_invite")
    # The inviter's role may have changed since: an invite is only as good as its inviter now.
    inviter = load_user(session, tenant_id=tenant_id, user_id=invite.invited_by)
    if not may_invite(inviter, invite.role):
        raise Unauthorized("The invite is invalid, expired or already used.", code="invalid_invite")
    return invite


def accept_invite(session: Session, *, invite: Invite, password_hash: str) -> User:
    """Create the invited user and close the invite."""
    user = create_user(
        session,
        tenant_id=invite.tenant_id,
        email=invite.email,
        password_hash=password_hash,
        role=invite.role,
    )
    invite.accepted_at = datetime.now(UTC)
    session.flush()
    return user
