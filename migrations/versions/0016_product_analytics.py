"""product analytics: the monthly product rollup, kept from the daily one by triggers

The products report over a long range reads whole months from `product_sales_monthly` and only
the days at the edges from `product_sales_daily`, so three years cost about 36 rows per variant
instead of about 1,100. The monthly rows are sums of the daily rows of their month, applied as
exact deltas by statement-level triggers on the daily table: whatever writes the daily rollup
(the write path, a rebuild) keeps the monthly one equal to it in the same transaction.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 17:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from migrations.rls import disable_tenant_rls, enable_tenant_rls

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ("tenant_id", "month", "channel", "customer_type", "product_id", "variant_id")
MONEY = ("gross_sales", "discounts", "returns", "net_sales", "cost_of_goods_sold",
         "net_sales_with_cost_recorded")  # fmt: skip
COUNTS = ("units_sold", "units_returned", "units_with_cost")
SUMS = MONEY + COUNTS


def _apply(sign: str, rows: str) -> str:
    """Add (`+`) or take away (`-`) the daily rows of a transition table, month by month."""
    sums = ", ".join(f"{sign}SUM({c})" for c in SUMS)
    updates = ", ".join(f"{c} = m.{c} + EXCLUDED.{c}" for c in SUMS)
    same = " AND ".join(f"m.{c} = k.{c}" for c in KEY)
    return f"""
        INSERT INTO product_sales_monthly AS m ({", ".join(KEY + SUMS)})
        SELECT tenant_id, CAST(date_trunc('month', day) AS date), channel, customer_type,
               product_id, variant_id, {sums}
        FROM {rows} GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT ({", ".join(KEY)}) DO UPDATE SET {updates};
        -- A month whose daily rows are all gone (or sum to nothing) leaves no row behind.
        DELETE FROM product_sales_monthly AS m
        USING (SELECT DISTINCT tenant_id, CAST(date_trunc('month', day) AS date) AS month,
                      channel, customer_type, product_id, variant_id FROM {rows}) AS k
        WHERE {same} AND {_ZERO};"""  # noqa: S608 (built from constants only)


_ZERO = " AND ".join(f"m.{c} = 0" for c in SUMS)
_FUNCTION = f"""
CREATE FUNCTION product_sales_monthly_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN {_apply("-", "old_rows")}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN {_apply("", "new_rows")}
    END IF;
    RETURN NULL;
END
$$;
"""
_TRIGGERS = {
    "insert": "AFTER INSERT ON product_sales_daily REFERENCING NEW TABLE AS new_rows",
    "update": "AFTER UPDATE ON product_sales_daily "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "delete": "AFTER DELETE ON product_sales_daily REFERENCING OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "product_sales_monthly",
        sa.Column(
            "tenant_id",
            sa.dialects.postgresql.UUID(as_uuid=True),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("customer_type", sa.String(16), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("variant_id", sa.BigInteger(), nullable=False),
        *(sa.Column(c, sa.Numeric(), nullable=False) for c in MONEY),
        *(sa.Column(c, sa.BigInteger(), nullable=False) for c in COUNTS),
        sa.PrimaryKeyConstraint(*KEY, name="pk_product_sales_monthly"),
    )
    enable_tenant_rls(op, "product_sales_monthly", grants="SELECT")
    op.execute(_FUNCTION)
    for event, clause in _TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER product_sales_monthly_{event} {clause} "
            "FOR EACH STATEMENT EXECUTE FUNCTION product_sales_monthly_apply()"
        )
    # The months of the daily rows already there.
    sums = ", ".join(f"SUM({c})" for c in SUMS)
    op.execute(
        f"INSERT INTO product_sales_monthly ({', '.join(KEY + SUMS)}) "  # noqa: S608
        "SELECT tenant_id, CAST(date_trunc('month', day) AS date), channel, customer_type, "
        f"product_id, variant_id, {sums} FROM product_sales_daily GROUP BY 1, 2, 3, 4, 5, 6"
    )


def downgrade() -> None:
    for event in _TRIGGERS:
        op.execute(f"DROP TRIGGER product_sales_monthly_{event} ON product_sales_daily")
    op.execute("DROP FUNCTION product_sales_monthly_apply()")
    disable_tenant_rls(op, "product_sales_monthly")
    op.drop_table("product_sales_monthly")
