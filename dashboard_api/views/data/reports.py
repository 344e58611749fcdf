"""GET /api/reports/sales (Shopify's sales-report figures) and /api/reports/checkouts (the
checkout funnel) per local day, cached per version."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Response
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from dashboard_api import cache
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, current_principal, require_role
from dashboard_api.context import current_redis, current_settings
from dashboard_api.csv_export import CsvFormatArgs, document_csv, wants_csv
from dashboard_api.db import tenant_session
from dashboard_api.queries.checkouts import checkout_funnel
from dashboard_api.queries.ranges import DayRange
from dashboard_api.queries.sales import sales_report
from dashboard_api.views.data.fields import Rows
from dashboard_api.views.data.insights import (
    CheckoutCountsOut,
    CheckoutsOut,
    InsightsArgs,
    RangeArgs,
    answer,
    cached_body,
    csv_of,
    day_range,
    json_body,
    segment,
)
from dashboard_api.views.data.schemas import Money

blp = Blueprint(
    "reports",
    __name__,
    url_prefix="/api/reports",
    description="Reports with Shopify's own definitions.",
)


class SalesFiguresOut(Schema):
    orders = fields.Integer(required=True, metadata={"description": "Orders placed."})
    gross_sales = Money(required=True, metadata={"description": "Line price times quantity."})
    discounts = Money(required=True, metadata={"description": "Negative: line, order discounts."})
    returns = Money(required=True, metadata={"description": "Negative: goods returned."})
    net_sales = Money(required=True, metadata={"description": "gross + discounts + returns"})
    shipping = Money(required=True, metadata={"description": "Less shipping discounts, refunds."})
    taxes = Money(required=True)
    duties = Money(required=True)
    total_sales = Money(required=True, metadata={"description": "net + shipping + taxes + duties"})
    average_order_value = Money(
        required=True,
        allow_none=True,
        metadata={"description": "(gross + discounts) of the orders placed / orders."},
    )
    cost_of_goods_sold = Money(required=True)
    net_sales_with_cost_recorded = Money(required=True)
    gross_profit = Money(
        required=True, metadata={"description": "net_sales_with_cost_recorded - cost_of_goods_sold"}
    )


class _Day(Schema):
    date = fields.Date(required=True)


class SalesDayOut(SalesFiguresOut, _Day):
    """One day's figures; `date` first (marshmallow orders the bases' fields last to first)."""


class SalesReportOut(Schema):
    start = fields.Date(data_key="from", required=True)
    end = fields.Date(data_key="to", required=True)
    tz = fields.String(required=True)
    currency = fields.String(
        required=True, allow_none=True, metadata={"description": "The shop currency."}
    )
    totals = fields.Nested(SalesFiguresOut, required=True)
    days = Rows(SalesDayOut, required=True)


class SalesReportArgs(InsightsArgs, CsvFormatArgs):
    pass


_SCHEMA = SalesReportOut()


@blp.route("/sales", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(SalesReportArgs, location="query")
@blp.response(200, SalesReportOut)
@document_csv(blp)
def sales(args: dict[str, Any]) -> Response:
    """The sales report for a range of days in the shop's time zone

    Shopify's sales-report figures (docs/metrics.md, "Sales report"): sales on the day an order
    was placed, returns on the day a refund was processed or the order cancelled. Money is exact
    decimal text in the shop currency, rounded half up to the cent; discounts and returns are
    negative. Test and deleted orders and gift cards are left out. Ranges span at most three
    years (1096 days); `channel` and `customer_type` narrow the report to one segment. The
    figures come from daily rollups kept in step with every write (in the shop's zone; another
    zone is summed from the rows, with the same answer). `format=csv` gives the days
    (`days`) as CSV, one row per day with the JSON's figures under the same names; the
    range's `totals` are JSON only.
    Answers are cached until the shop's data changes (`X-Cache: hit|miss`), CSV too.
    """
    seg = segment(args)

    def report(session: Session, tenant_id: uuid.UUID, rng: DayRange) -> dict[str, Any]:
        return sales_report(session, tenant_id=tenant_id, rng=rng, segment=seg)

    return day_report(args, ("sales" + seg.key(), "sales-report"), _SCHEMA, SalesDayOut, report)


def day_report(
    args: dict[str, Any],
    names: tuple[str, str],
    schema: Schema,
    day_schema: type[Schema],
    report: Callable[[Session, uuid.UUID, DayRange], dict[str, Any]],
) -> Response:
    """A report over a range of local days, cached per data version: its JSON, or its `days`
    as CSV. `names`: its cache name and its CSV file's name."""
    principal = current_principal()
    settings, client = current_settings(), current_redis()
    version = cache.tenant_version(client, settings, principal.tenant_id)
    rng = day_range(settings, principal.tenant_id, args, version)
    name, filename = names

    def compute() -> bytes:
        with tenant_session(settings, principal.tenant_id) as session:
            return json_body(schema, report(session, principal.tenant_id, rng))

    what = (name, rng)
    if not wants_csv(args):
        return answer(client, settings, principal.tenant_id, version, what, compute)
    return csv_of(
        cached_body(client, settings, principal.tenant_id, version, what, compute),
        ("days", day_schema),
        filename=f"{filename}-{rng.start}-{rng.end}",
        tz=rng.tz,
    )


class CheckoutDayOut(CheckoutCountsOut, _Day):
    """One day's checkouts, by the day they were started."""


class CheckoutReportOut(Schema):
    start = fields.Date(data_key="from", required=True)
    end = fields.Date(data_key="to", required=True)
    tz = fields.String(required=True)
    totals = fields.Nested(CheckoutsOut, required=True)
    days = fields.List(fields.Nested(CheckoutDayOut), required=True)


class CheckoutReportArgs(RangeArgs, CsvFormatArgs):
    pass


_CHECKOUTS = CheckoutReportOut()


@blp.route("/checkouts", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(CheckoutReportArgs, location="query")
@blp.response(200, CheckoutReportOut)
@document_csv(blp)
def checkouts(args: dict[str, Any]) -> Response:
    """The checkout funnel by day for a range of days in the shop's time zone

    Checkouts started on each local day, by the status they have now (open, completed,
    abandoned, recovered), with the value of the abandoned and recovered ones; the range's
    totals and rates are the insights' checkout figures (docs/metrics.md, "Checkouts").
    `format=csv` gives the days. Answers are cached until the shop's data changes.
    """

    def report(session: Session, tenant_id: uuid.UUID, rng: DayRange) -> dict[str, Any]:
        return checkout_funnel(session, tenant_id=tenant_id, rng=rng)

    return day_report(args, ("checkouts", "checkouts"), _CHECKOUTS, CheckoutDayOut, report)
