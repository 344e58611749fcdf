"""retention for dead letters, entity payloads and customer exports

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every entity table carries a payload (models.base.Versioned)...
VERSIONED = (
    "customers", "products", "orders", "order_edits", "refunds", "order_transactions",
    "fulfillments", "checkouts", "carts", "inventory_items", "inventory_item_costs",
    "inventory_levels",
)  # fmt: skip
# ...and these payloads hold personal data: names, emails, phones, addresses, notes.
PERSONAL = (
    "customers", "orders", "order_edits", "refunds", "order_transactions", "fulfillments",
    "checkouts", "carts",
)  # fmt: skip
# The rows whose payload still holds what its last write brought: the purge walks only these.
UNREDACTED = (
    "payload IS NOT NULL AND (payload_redacted_at IS NULL OR payload_redacted_at < ingested_at)"
)


def upgrade() -> None:
    op.add_column(
        "tenants",
        sa.Column("dead_letter_retention_days", sa.Integer(), server_default="30", nullable=False),
    )
    op.add_column(
        "tenants",
        sa.Column("pii_retention_days", sa.Integer(), server_default="90", nullable=False),
    )
    for table in VERSIONED:
        op.add_column(
            table, sa.Column("payload_redacted_at", sa.DateTime(timezone=True), nullable=True)
        )
    for table in PERSONAL:
        op.create_index(
            f"ix_{table}_payload_unredacted",
            table,
            ["tenant_id", "ingested_at"],
            postgresql_where=sa.text(UNREDACTED),
        )


def downgrade() -> None:
    for table in PERSONAL:
        op.drop_index(f"ix_{table}_payload_unredacted", table_name=table)
    for table in VERSIONED:
        op.drop_column(table, "payload_redacted_at")
    op.drop_column("tenants", "pii_retention_days")
    op.drop_column("tenants", "dead_letter_retention_days")
