"""Admin API addresses other than the shop's own are operator settings

Until now a tenant could store any `admin_url` through the API; the workers now trust a stored
address as an operator's. Nothing records who stored an address, so every stored one is
cleared: those shops use https://<shop> until an operator sets the address again
(`cartwheel tenants set-credentials <tenant> --admin-url URL`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The shop's own address is the default and is stored as NULL; any other may be a tenant's.
    op.execute("UPDATE shop_credentials SET admin_url = NULL WHERE admin_url IS NOT NULL")


def downgrade() -> None:
    # Cleared addresses are not restored: nothing records which ones an operator had set.
    pass
