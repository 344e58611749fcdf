"""account lifecycle: password resets, session lifetimes, removed users

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

API_KEYS_FK = "fk_api_keys_tenant_id_created_by_users"
# Refresh tokens issued before sessions had an absolute lifetime end this long after they were
# created (the default session_max_seconds).
LEGACY_SESSION_DAYS = 30


def _timestamp(name: str, *, nullable: bool, default: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.DateTime(timezone=True),
        server_default=sa.text("now()") if default else None,
        nullable=nullable,
    )


def _create_password_resets() -> None:
    op.create_table(
        "password_resets",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        _timestamp("created_at", nullable=False, default=True),
        _timestamp("expires_at", nullable=False),
        _timestamp("used_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_password_resets_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name="fk_password_resets_tenant_id_user_id_users",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by"],
            ["users.tenant_id", "users.id"],
            name="fk_password_resets_tenant_id_created_by_users",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_password_resets"),
    )
    op.create_index(
        "ix_password_resets_tenant_id_token_hash",
        "password_resets",
        ["tenant_id", "token_hash"],
        unique=True,
    )
    op.create_index(
        "ix_password_resets_tenant_id_user_id", "password_resets", ["tenant_id", "user_id"]
    )
    enable_tenant_rls(op, "password_resets", grants="SELECT, INSERT, UPDATE, DELETE")


def _add_session_columns() -> None:
    op.add_column("refresh_tokens", sa.Column("session_id", sa.UUID(), nullable=True))
    op.add_column("refresh_tokens", _timestamp("session_started_at", nullable=True))
    op.add_column("refresh_tokens", _timestamp("session_expires_at", nullable=True))
    op.add_column("refresh_tokens", sa.Column("user_agent", sa.String(255), nullable=True))
    op.execute(
        sa.text(
            "UPDATE refresh_tokens SET session_id = id, session_started_at = created_at, "
            "session_expires_at = created_at + make_interval(days => :days)"
        ).bindparams(days=LEGACY_SESSION_DAYS)
    )
    for column in ("session_id", "session_started_at", "session_expires_at"):
        op.alter_column("refresh_tokens", column, nullable=False)
    op.create_index(
        "ix_refresh_tokens_tenant_id_session_id", "refresh_tokens", ["tenant_id", "session_id"]
    )


def _keys_outlive_their_creator() -> None:
    # A removed user's ingest keys keep working for the tenant; only the creator is forgotten.
    op.drop_constraint(API_KEYS_FK, "api_keys", type_="foreignkey")
    op.alter_column("api_keys", "created_by", nullable=True)
    op.execute(
        f"ALTER TABLE api_keys ADD CONSTRAINT {API_KEYS_FK} FOREIGN KEY (tenant_id, created_by) "
        "REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)"
    )


def upgrade() -> None:
    _create_password_resets()
    _add_session_columns()
    _keys_outlive_their_creator()


def downgrade() -> None:
    op.drop_constraint(API_KEYS_FK, "api_keys", type_="foreignkey")
    op.execute("DELETE FROM api_keys WHERE created_by IS NULL")
    op.alter_column("api_keys", "created_by", nullable=False)
    op.create_foreign_key(
        API_KEYS_FK, "api_keys", "users", ["tenant_id", "created_by"], ["tenant_id", "id"]
    )
    op.drop_index("ix_refresh_tokens_tenant_id_session_id", table_name="refresh_tokens")
    for column in ("user_agent", "session_expires_at", "session_started_at", "session_id"):
        op.drop_column("refresh_tokens", column)
    disable_tenant_rls(op, "password_resets")
    op.drop_table("password_resets")
