"""accounts, the dashboard API role and row-level security on every tenant table

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.rls import (
    API_ROLE,
    disable_tenant_rls,
    drop_api_role,
    enable_tenant_rls,
    ensure_api_role,
)

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables from 0001 the API only reads.
READ_ONLY = (
    "customers",
    "products",
    "product_variants",
    "orders",
    "order_line_items",
    "carts",
    "checkouts",
    "checkout_tombstones",
    "webhook_events",
    "dead_letters",
)
ACCOUNT_TABLES = ("users", "refresh_tokens", "invites", "api_keys")
LOGIN_LOOKUP = "cartwheel_login_lookup"


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _tenant_and_id() -> list[sa.Column]:
    return [
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
    ]


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants", ondelete="CASCADE"
    )


def _user_fk(table: str, column: str, ondelete: str | None) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        ["users.tenant_id", "users.id"],
        name=f"fk_{table}_tenant_id_{column}_users",
        ondelete=ondelete,
    )


def _role_check(table: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(
        "role IN ('owner', 'admin', 'analyst')", name=op.f(f"ck_{table}_role")
    )


def _create_tables() -> None:
    op.create_table(
        "users",
        *_tenant_and_id(),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _created_at(),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        _role_check("users"),
        _tenant_fk("users"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_users"),
    )
    op.create_index("ix_users_email", "users", ["email"])
    op.create_index("ix_users_tenant_id_email", "users", ["tenant_id", "email"], unique=True)
    op.create_table(
        "refresh_tokens",
        *_tenant_and_id(),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_by", sa.UUID(), nullable=True),
        _user_fk("refresh_tokens", "user_id", "CASCADE"),
        _tenant_fk("refresh_tokens"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_refresh_tokens"),
    )
    op.create_index(
        "ix_refresh_tokens_tenant_id_token_hash",
        "refresh_tokens",
        ["tenant_id", "token_hash"],
        unique=True,
    )
    op.create_index(
        "ix_refresh_tokens_tenant_id_user_id", "refresh_tokens", ["tenant_id", "user_id"]
    )
    op.create_table(
        "invites",
        *_tenant_and_id(),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by", sa.UUID(), nullable=False),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _role_check("invites"),
        _user_fk("invites", "invited_by", "CASCADE"),
        _tenant_fk("invites"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_invites"),
    )
    op.create_index(
        "ix_invites_tenant_id_token_hash", "invites", ["tenant_id", "token_hash"], unique=True
    )
    op.create_table(
        "api_keys",
        *_tenant_and_id(),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=False),
        _created_at(),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _user_fk("api_keys", "created_by", None),
        _tenant_fk("api_keys"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_api_keys"),
    )
    op.create_index("ix_api_keys_key_hash", "api_keys", ["key_hash"])


def _create_login_lookup() -> None:
    # Login knows an email, not a tenant; RLS would hide every user. This function runs as the
    # table owner and returns only the rows for the exact email asked about.
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    # The schema name comes from the server itself, quoted.
    op.execute(
        f"""
        CREATE FUNCTION {LOGIN_LOOKUP}(p_email text)
        RETURNS TABLE (tenant_id uuid, user_id uuid, email text, password_hash text, role text)
        LANGUAGE sql STABLE SECURITY DEFINER
        SET search_path = "{schema}", pg_temp
        AS $$
            SELECT u.tenant_id, u.id, u.email::text, u.password_hash, u.role::text
            FROM "{schema}".users AS u
            WHERE u.email = lower(p_email)
        $$
        """  # noqa: S608
    )
    op.execute(f"REVOKE ALL ON FUNCTION {LOGIN_LOOKUP}(text) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {LOGIN_LOOKUP}(text) TO {API_ROLE}")


def upgrade() -> None:
    _create_tables()
    ensure_api_role(op)
    enable_tenant_rls(op, "tenants", column="id", grants="SELECT, INSERT, UPDATE")
    for table in READ_ONLY:
        enable_tenant_rls(op, table, grants="SELECT")
    for table in ACCOUNT_TABLES:
        enable_tenant_rls(op, table, grants="SELECT, INSERT, UPDATE, DELETE")
    _create_login_lookup()


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {LOGIN_LOOKUP}(text)")
    for table in (*ACCOUNT_TABLES, *READ_ONLY, "tenants"):
        disable_tenant_rls(op, table)
    drop_api_role(op)
    for table in reversed(ACCOUNT_TABLES):
        op.drop_table(table)
