"""checkout deletions also name the checkout by its cart token

From API 2026-04 checkouts/create and checkouts/update carry no checkout id, while
checkouts/delete still names the checkout by id, with its cart token: a deletion is kept with
both, and matched by either.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("checkout_tombstones", sa.Column("cart_token", sa.String(255), nullable=True))
    op.create_index(
        "ix_checkout_tombstones_tenant_id_cart_token",
        "checkout_tombstones",
        ["tenant_id", "cart_token"],
    )


def downgrade() -> None:
    op.drop_index("ix_checkout_tombstones_tenant_id_cart_token", "checkout_tombstones")
    op.drop_column("checkout_tombstones", "cart_token")
