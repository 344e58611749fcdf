"""Schemas of the customer analytics endpoints (dashboard_api/views/data/customers.py)."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from dashboard_api.csv_export import CsvFormatArgs
from dashboard_api.queries.customers import DEFAULT_SORT, SEGMENTS, SORTS
from dashboard_api.views.data.arguments import PageArgs
from dashboard_api.views.data.fields import IdString, Money, Rows

_AMOUNT = re.compile(r"^-?[0-9]{1,15}(\.[0-9]{1,4})?$")


class Amount(fields.Decimal):
    """An amount of money in a query: plain decimal digits, at most four places."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(as_string=True, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str) or not _AMOUNT.match(value):
            raise ValidationError("Not an amount: digits with at most four decimal places.")
        return super()._deserialize(value, attr, data, **kwargs)


def _amount(description: str) -> Amount:
    return Amount(metadata={"description": description, "type": "string", "example": "100.00"})


class CustomerListArgs(PageArgs, CsvFormatArgs):
    sort = fields.String(
        load_default=DEFAULT_SORT,
        validate=validate.OneOf([*SORTS, *(f"-{n}" for n in SORTS)]),
        metadata={"description": "Sort field; a leading `-` sorts descending."},
    )
    segment = fields.String(validate=validate.OneOf(SEGMENTS), metadata={"description": "RFM."})
    customer_type = fields.String(
        validate=validate.OneOf(["new", "returning"]),
        metadata={"description": "`new`: one order; `returning`: more than one."},
    )
    tag = fields.String(
        validate=validate.Length(min=1, max=255),
        metadata={"description": "One of the customer's tags (case-insensitive)."},
    )
    first_order_from = fields.Date(metadata={"description": "First order on or after (local)."})
    first_order_to = fields.Date(metadata={"description": "First order on or before (local)."})
    min_net_spend = _amount("Net spend at least this (shop currency).")
    max_net_spend = _amount("Net spend at most this (shop currency).")

    @validates_schema
    def _order(self, data: dict[str, Any], **kwargs: Any) -> None:
        for low, high in (
            ("first_order_from", "first_order_to"),
            ("min_net_spend", "max_net_spend"),
        ):
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                raise ValidationError({high: [f"Must not be less than {low}."]})


class CustomerFiguresOut(Schema):
    id = IdString(attribute="customer_id", required=True)
    email = fields.String(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    known = fields.Boolean(required=True, metadata={"description": "False: record deleted."})
    as_of = fields.Date(required=True, metadata={"description": "Local day of the recompute."})
    orders = fields.Integer(required=True)
    gross_spend = Money(required=True)
    refunded = Money(required=True)
    net_spend = Money(required=True, metadata={"description": "Historical CLV."})
    historical_clv = Money(required=True, metadata={"description": "= net_spend to date."})
    average_order_value = Money(required=True, allow_none=True)
    first_order_at = fields.DateTime(required=True, allow_none=True)
    last_order_at = fields.DateTime(required=True, allow_none=True)
    first_order_month = fields.Date(required=True, allow_none=True)
    average_days_between_orders = Money(required=True, allow_none=True)
    recency_days = fields.Integer(required=True, allow_none=True)
    r_score = fields.Integer(required=True, allow_none=True)
    f_score = fields.Integer(required=True, allow_none=True)
    m_score = fields.Integer(required=True, allow_none=True)
    fm_score = fields.Decimal(
        places=1, as_string=True, required=True, allow_none=True,
        metadata={"description": "(F + M) / 2"},
    )  # fmt: skip
    segment = fields.String(required=True)
    tags = fields.List(fields.String(), required=True)


class CustomerAnalyticsPage(Schema):
    items = Rows(CustomerFiguresOut, required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class CustomerOrderTypeOut(Schema):
    id = IdString(required=True)
    name = fields.String(allow_none=True)
    placed_at = fields.DateTime(required=True)
    cancelled_at = fields.DateTime(
        required=True, allow_none=True,
        metadata={"description": "Cancelled orders are in no figure, but typed like the rest."},
    )  # fmt: skip
    total_price = Money(required=True)
    refunded = Money(required=True)
    customer_type = fields.String(required=True, metadata={"description": "new or returning"})


class CustomerDetailOut(CustomerFiguresOut):
    order_history = fields.List(fields.Nested(CustomerOrderTypeOut), required=True)


class RfmSegmentOut(Schema):
    segment = fields.String(required=True)
    customers = fields.Integer(required=True)
    net_spend = Money(required=True)
    share = fields.Float(required=True, allow_none=True)


class RfmSegmentsOut(Schema):
    as_of = fields.Date(required=True, allow_none=True)
    customers = fields.Integer(required=True)
    segments = fields.List(fields.Nested(RfmSegmentOut), required=True)


class AnalyticsPeriodArgs(Schema):
    start = fields.Date(data_key="from", metadata={"description": "First local day."})
    end = fields.Date(data_key="to", metadata={"description": "Last local day; default today."})


class RfmMoveOut(Schema):
    from_segment = fields.String(data_key="from", required=True, allow_none=True)
    to_segment = fields.String(data_key="to", required=True, allow_none=True)
    customers = fields.Integer(required=True)


class RfmMovementOut(Schema):
    from_snapshot = fields.Date(required=True)
    to_snapshot = fields.Date(required=True)
    moves = fields.List(fields.Nested(RfmMoveOut), required=True)


class CohortMonthCellOut(Schema):
    months_since = fields.Integer(required=True)
    customers = fields.Integer(required=True)
    retention = fields.Float(required=True, allow_none=True)
    orders = fields.Integer(required=True)
    net_revenue = Money(required=True)


class AcquisitionCohortOut(Schema):
    month = fields.Date(required=True)
    customers = fields.Integer(required=True)
    months = fields.List(fields.Nested(CohortMonthCellOut), required=True)


class ReturningCustomersOut(Schema):
    customers = fields.Integer(required=True)
    returning = fields.Integer(required=True)
    rate = fields.Float(required=True, allow_none=True)


class CohortsOut(Schema):
    start = fields.Date(data_key="from", required=True)
    end = fields.Date(data_key="to", required=True)
    tz = fields.String(required=True)
    as_of = fields.Date(required=True, allow_none=True)
    cohorts = fields.List(fields.Nested(AcquisitionCohortOut), required=True)
    returning_customers = fields.Nested(ReturningCustomersOut, required=True)


class AnalyticsRecomputeOut(Schema):
    task_id = fields.String(required=True)
