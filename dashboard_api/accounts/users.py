"""Tenant users: login lookup, creation with a globally unique email, roles, removal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, delete, select, text, update
from sqlalchemy.orm import Session

from dashboard_api.errors import Conflict, Forbidden, NotFound
from models.accounts import Invite, User

# The roles that may invite, and the highest role each may hand out.
INVITER_GRANTS = {"owner": ("owner", "admin", "analyst"), "admin": ("admin", "analyst")}

_LOOKUP = text(
    "SELECT tenant_id, user_id, email, password_hash, role FROM cartwheel_login_lookup(:email)"
)
# Two-key advisory lock: (namespace, hash of the address). Serialises every transaction that
# claims the same email, so the "already taken?" check and the insert cannot interleave.
_EMAIL_LOCK = text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:email))")
_EMAIL_LOCK_NAMESPACE = 0x63770001


@dataclass(frozen=True, slots=True)
class LoginRecord:
    tenant_id: uuid.UUID
    user_id: uuid.UUID
    email: str
    password_hash: str
    role: str


def find_login(session: Session, email: str) -> LoginRecord | None:
    """The user with this email in any tenant (emails are unique across tenants)."""
    row = session.execute(_LOOKUP, {"email": email.strip().lower()}).first()
    if row is None:
        return None
    return LoginRecord(row.tenant_id, row.user_id, row.email, row.password_hash, row.role)


def claim_email(session: Session, email: str) -> None:
    """Lock the address for this transaction; raise Conflict if a user already has it."""
    session.execute(_EMAIL_LOCK, {"namespace": _EMAIL_LOCK_NAMESPACE, "email": email})
    if find_login(session, email) is not None:
        raise Conflict("A user with this email address already exists.", code="email_taken")


def users_of(tenant_id: uuid.UUID) -> Select[User]:
    """Select the tenant's users (RLS enforces the same; the filter keeps intent explicit)."""
    return select(User).where(User.tenant_id == tenant_id)


def create_user(
    session: Session, *, tenant_id: uuid.UUID, email: str, password_hash: str, role: str
) -> User:
    """Add a user to the tenant; raises Conflict when the email is taken anywhere."""
    claim_email(session, email)
    user = User(tenant_id=tenant_id, email=email, password_hash=password_hash, role=role)
    session.add(user)
    session.flush()
    return user


def list_users(session: Session, *, tenant_id: uuid.UUID) -> list[User]:
    """The tenant's users, oldest first."""
    return list(session.scalars(users_of(tenant_id).order_by(User.created_at, User.email)))


def get_user(session: Session, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User:
    """One of the tenant's users; NotFound for anyone else's id."""
    user = session.scalar(users_of(tenant_id).where(User.id == user_id))
    if user is None:
        raise NotFound("No such user.")
    return user


def change_role(
    session: Session, *, tenant_id: uuid.UUID, actor_role: str, user_id: uuid.UUID, role: str
) -> User:
    """Give a user another role. Only owners touch owners; a tenant keeps at least one owner."""
    user = session.scalar(users_of(tenant_id).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound("No such user.")
    if actor_role != "owner" and "owner" in (user.role, role):
        raise Forbidden("Only an owner may grant or take away the owner role.")
    if user.role == "owner" and role != "owner" and _owner_count(session, tenant_id) <= 1:
        raise Conflict("A tenant needs at least one owner.", code="last_owner")
    user.role = role
    _withdraw_invites_beyond(session, tenant_id=tenant_id, inviter=user)
    session.flush()
    return user


def _withdraw_invites_beyond(session: Session, *, tenant_id: uuid.UUID, inviter: User) -> None:
    """Pending invites the inviter's new role could not have made stop working."""
    may_grant = INVITER_GRANTS.get(inviter.role, ())
    session.execute(
        update(Invite)
        .where(
            Invite.tenant_id == tenant_id,
            Invite.invited_by == inviter.id,
            Invite.accepted_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.role.not_in(may_grant) if may_grant else Invite.role.is_not(None),
        )
        .values(revoked_at=datetime.now(UTC))
    )


def may_invite(inviter: User | None, role: str) -> bool:
    """Whether this (current) user may hand out `role`: checked again when an invite is used."""
    return inviter is not None and role in INVITER_GRANTS.get(inviter.role, ())


def remove_user(
    session: Session, *, tenant_id: uuid.UUID, actor_role: str, user_id: uuid.UUID
) -> None:
    """Delete a user with their sessions, resets and pending invites (the database cascades);
    ingest keys they created stay. Only owners remove owners; a tenant keeps one owner."""
    user = session.scalar(users_of(tenant_id).where(User.id == user_id).with_for_update())
    if user is None:
        raise NotFound("No such user.")
    if user.role == "owner" and actor_role != "owner":
        raise Forbidden("Only an owner may remove an owner.")
    if user.role == "owner" and _owner_count(session, tenant_id) <= 1:
        raise Conflict("A tenant needs at least one owner.", code="last_owner")
    session.execute(delete(User).where(User.tenant_id == tenant_id, User.id == user_id))


def set_password(session: Session, user: User, password_hash: str) -> None:
    """Store a new password hash."""
    user.password_hash = password_hash
    session.flush()


def _owner_count(session: Session, tenant_id: uuid.UUID) -> int:
    # Lock the owners' rows so two concurrent demotions cannot both see "another owner left".
    owners = users_of(tenant_id).where(User.role == "owner").with_for_update()
    return len(list(session.scalars(owners)))


def record_login(session: Session, user: User, *, new_hash: str | None) -> None:
    """Stamp the login time; store a rehashed password when the cost settings changed."""
    user.last_login_at = datetime.now(UTC)
    if new_hash:
        user.password_hash = new_hash
    session.flush()


def load_user(session: Session, *, tenant_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
    """The user, or None (for token refresh, where a vanished user is a 401, not a 404)."""
    return session.scalar(users_of(tenant_id).where(User.id == user_id))
