"""shops are verified before they receive webhooks; destructive compliance requests are held

A registration is a claim on a shop domain until its owner proves control of the shop; several
claims of one shop may coexist, only one verified tenant per shop. `cartwheel_verify_shop` makes
a claim the verified one and discards the other claims (the dashboard API's role may not see or
delete other tenants, so it runs as the table owner). `compliance_holds` keeps shop/redact and
customers/redact requests until the owner (or an operator) confirms or rejects them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.rls import API_ROLE, disable_tenant_rls, enable_tenant_rls

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERIFY_SHOP = "cartwheel_verify_shop"
_LOCK_NAMESPACE = 0x63770002


def _create_verify_function() -> None:
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    # The schema name comes from the server itself, quoted; the rest are constants.
    op.execute(
        f"""
        CREATE FUNCTION {VERIFY_SHOP}(p_tenant uuid)
        RETURNS boolean
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER
        SET search_path = "{schema}", pg_temp
        AS $$
        DECLARE
            v_shop text;
        BEGIN
            SELECT t.shop_domain INTO v_shop FROM "{schema}".tenants AS t WHERE t.id = p_tenant;
            IF v_shop IS NULL THEN
                RETURN false;
            END IF;
            -- One verification of a shop at a time: the first one wins.
            PERFORM pg_advisory_xact_lock({_LOCK_NAMESPACE}, hashtext(v_shop));
            IF EXISTS (
                SELECT 1 FROM "{schema}".tenants AS t
                WHERE t.shop_domain = v_shop AND t.verified_at IS NOT NULL AND t.id <> p_tenant
            ) THEN
                RETURN false;
            END IF;
            UPDATE "{schema}".tenants SET verified_at = coalesce(verified_at, now())
            WHERE id = p_tenant;
            DELETE FROM "{schema}".tenants
            WHERE shop_domain = v_shop AND verified_at IS NULL AND id <> p_tenant;
            RETURN true;
        END
        $$
        """  # noqa: S608
    )
    op.execute(f"REVOKE ALL ON FUNCTION {VERIFY_SHOP}(uuid) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {VERIFY_SHOP}(uuid) TO {API_ROLE}")


# Only cartwheel_verify_shop (running as the table owner) sets verified_at: the dashboard API's
# role may insert and update its own tenant row, but never vouch for it.
_GUARD = f"""
CREATE FUNCTION cartwheel_guard_verified() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_user = '{API_ROLE}' AND NEW.verified_at IS DISTINCT FROM
        (CASE WHEN TG_OP = 'UPDATE' THEN OLD.verified_at END) THEN
        RAISE EXCEPTION 'only cartwheel_verify_shop sets tenants.verified_at'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER tenants_verified_guard BEFORE INSERT OR UPDATE OF verified_at ON tenants
    FOR EACH ROW EXECUTE FUNCTION cartwheel_guard_verified();
"""


def upgrade() -> None:
    op.add_column("tenants", sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
    # Every tenant so far was registered by an operator or before claims existed.
    op.execute("UPDATE tenants SET verified_at = created_at")
    op.drop_constraint("uq_tenants_shop_domain", "tenants", type_="unique")
    op.create_index("ix_tenants_shop_domain", "tenants", ["shop_domain"])
    op.create_index(
        "uq_tenants_verified_shop_domain",
        "tenants",
        ["shop_domain"],
        unique=True,
        postgresql_where=sa.text("verified_at IS NOT NULL"),
    )
    _create_verify_function()
    op.execute(_GUARD)
    op.create_table(
        "compliance_holds",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "held_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "decision IN ('confirmed', 'rejected')", name=op.f("ck_compliance_holds_decision")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name="fk_compliance_holds_tenant_id_tenants",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "webhook_id", name="pk_compliance_holds"),
    )
    op.create_index(
        "ix_compliance_holds_undecided",
        "compliance_holds",
        ["deadline_at"],
        postgresql_where=sa.text("decided_at IS NULL"),
    )
    enable_tenant_rls(op, "compliance_holds", grants="SELECT, UPDATE")


def downgrade() -> None:
    disable_tenant_rls(op, "compliance_holds")
    op.drop_table("compliance_holds")
    op.execute("DROP TRIGGER IF EXISTS tenants_verified_guard ON tenants")
    op.execute("DROP FUNCTION IF EXISTS cartwheel_guard_verified()")
    op.execute(f"DROP FUNCTION IF EXISTS {VERIFY_SHOP}(uuid)")
    op.drop_index("uq_tenants_verified_shop_domain", table_name="tenants")
    op.drop_index("ix_tenants_shop_domain", table_name="tenants")
    # Claims that were never verified cannot keep their shop once it is unique again.
    op.execute("DELETE FROM tenants WHERE verified_at IS NULL")
    op.create_unique_constraint("uq_tenants_shop_domain", "tenants", ["shop_domain"])
    op.drop_column("tenants", "verified_at")
