"""GET /api/insights: the shop's totals and series for a range of local days, cached per version."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from flask import Response
from marshmallow import Schema, fields, validate
from sqlalchemy import text

from core.settings import Settings
from dashboard_api import cache
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, current_principal, require_role
from dashboard_api.context import current_redis, current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import Invalid
from dashboard_api.queries.insights import PARTS, assemble
from dashboard_api.queries.ranges import (
    DayRange,
    RangeError,
    check_zone,
    resolve_range,
    tenant_timezone,
)
from dashboard_api.queries.sales import CUSTOMER_TYPES, Segment
from dashboard_api.views.data.schemas import IdString, Money, no_nul

blp = Blueprint(
    "insights", __name__, url_prefix="/api", description="Totals and series for dashboards."
)


class InsightsArgs(Schema):
    start = fields.Date(
        data_key="from",
        metadata={"description": "First local day (YYYY-MM-DD); default: 29 days before `to`."},
    )
    end = fields.Date(
        data_key="to", metadata={"description": "Last local day, inclusive; default: today."}
    )
    tz = fields.String(
        validate=[validate.Length(min=1, max=64), no_nul],
        metadata={"description": "IANA time zone of the days; default: the shop's own."},
    )
    channel = fields.String(
        validate=[validate.Length(max=64), no_nul],
        metadata={
            "description": "Only orders of this sales channel (the order's `source_name`: "
            "`web`, `pos`, an app's id; empty for orders that name none)."
        },
    )
    customer_type = fields.String(
        validate=validate.OneOf(CUSTOMER_TYPES),
        metadata={
            "description": "Only `new` (a customer's first order), `returning` (a later one) "
            "or `guest` (no customer) orders; docs/metrics.md has the definition."
        },
    )


class InsightsQuery(InsightsArgs):
    shopify = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Also give the range's figures with Shopify's definitions (the sales "
            "report's) beside the insights' own: `sales.shopify` and each day's "
            "`shopify_net_sales`. It costs one sales report on top."
        },
    )


def _rate(description: str) -> fields.Float:
    return fields.Float(required=True, allow_none=True, metadata={"description": description})


class RangeOut(Schema):
    start = fields.Date(data_key="from", required=True)
    end = fields.Date(data_key="to", required=True)
    tz = fields.String(required=True)
    days = fields.Integer(required=True)


class CustomersOut(Schema):
    total = fields.Integer(required=True, metadata={"description": "Customers on record now."})
    new = fields.Integer(required=True, metadata={"description": "Created in the range."})


class OrdersOut(Schema):
    count = fields.Integer(required=True)
    cancelled = fields.Integer(required=True)
    net_count = fields.Integer(required=True, metadata={"description": "Not cancelled."})


class ShopifySalesOut(Schema):
    gross_sales = Money(required=True)
    discounts = Money(required=True)
    returns = Money(required=True)
    net_sales = Money(required=True)
    total_sales = Money(required=True)
    average_order_value = Money(required=True, allow_none=True)


class SalesOut(Schema):
    gross = Money(required=True)
    cancellations = Money(required=True)
    refunds = Money(required=True)
    net = Money(required=True)
    average_order_value = Money(required=True, allow_none=True)
    shopify = fields.Nested(
        ShopifySalesOut,
        metadata={"description": "The same range with Shopify's definitions (/api/reports/sales)."},
    )


class DayOut(Schema):
    date = fields.Date(required=True)
    orders = fields.Integer(required=True)
    gross_sales = Money(required=True)
    net_sales = Money(required=True)
    shopify_net_sales = Money(
        metadata={"description": "Net sales with Shopify's definitions (with `shopify=true`)."}
    )


class TopCustomerOut(Schema):
    id = IdString(required=True)
    email = fields.String(required=True, allow_none=True)
    name = fields.String(required=True, allow_none=True)
    orders = fields.Integer(required=True)
    spent = Money(required=True)


class RepeatOut(Schema):
    buyers = fields.Integer(required=True)
    repeat_buyers = fields.Integer(required=True)
    rate = _rate("repeat_buyers / buyers")


class CheckoutsOut(Schema):
    started = fields.Integer(required=True)
    open = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    abandoned = fields.Integer(required=True)
    abandoned_value = Money(required=True)
    recovered = fields.Integer(required=True)
    recovered_value = Money(required=True)
    abandonment_rate = _rate("(abandoned + recovered) / (completed + abandoned + recovered)")
    recovery_rate = _rate("recovered / (abandoned + recovered)")


class CartsOut(Schema):
    created = fields.Integer(required=True)
    abandoned = fields.Integer(required=True)
    abandoned_value = Money(required=True)


class InsightsOut(Schema):
    range = fields.Nested(RangeOut, required=True)
    currency = fields.String(required=True, allow_none=True)
    customers = fields.Nested(CustomersOut, required=True)
    orders = fields.Nested(OrdersOut, required=True)
    sales = fields.Nested(SalesOut, required=True)
    revenue_by_day = fields.List(fields.Nested(DayOut), required=True)
    top_customers = fields.List(fields.Nested(TopCustomerOut), required=True)
    repeat_purchase = fields.Nested(RepeatOut, required=True)
    checkouts = fields.Nested(CheckoutsOut, required=True)
    carts = fields.Nested(CartsOut, required=True)


_SCHEMA = InsightsOut()


@blp.route("/insights", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(InsightsQuery, location="query")
@blp.response(200, InsightsOut)
def insights(args: dict[str, Any]) -> Response:
    """Insights for a range of days in the shop's time zone

    Money is exact decimal text in the shop currency; rates have four places and are null when
    there is nothing to divide by. docs/metrics.md has every definition. Ranges span at most
    three years (1096 days). `channel` and `customer_type` narrow the order figures, buyers
    and top customers to one segment (customers, checkouts and carts stay the shop's whole).
    Answers are cached until the shop's data changes (`X-Cache: hit|miss`).
    """
    principal = current_principal()
    settings, client = current_settings(), current_redis()
    # Before any data is read: see dashboard_api/cache.py.
    version = cache.tenant_version(client, settings, principal.tenant_id)
    rng = day_range(settings, principal.tenant_id, args)

    with_shopify = bool(args.get("shopify"))
    seg = segment(args)

    def body() -> bytes:
        result = compute(settings, principal.tenant_id, rng, shopify=with_shopify, segment=seg)
        return json.dumps(_SCHEMA.dump(result), separators=(",", ":")).encode()

    name = ("insights+shopify" if with_shopify else "insights") + seg.key()
    return answer(client, settings, principal.tenant_id, version, (name, rng), body)


def answer(
    client: Any,
    settings: Settings,
    tenant_id: uuid.UUID,
    version: int,
    what: tuple[str, DayRange],
    compute_body: Callable[[], bytes],
) -> Response:
    """A range answer from the cache, else computed and cached under the data version read
    before any data was (dashboard_api/cache.py)."""
    name, rng = what
    parts = (rng.start.isoformat(), rng.end.isoformat(), rng.tz)
    key = cache.answer_key(settings, tenant_id, version, name, parts)
    body = cache.load_answer(client, key)
    if body is not None:
        return _json(body, "hit")
    body = compute_body()
    cache.store_answer(client, key, body)
    return _json(body, "miss")


def day_range(settings: Settings, tenant_id: uuid.UUID, args: dict[str, Any]) -> DayRange:
    """The range of local days the query asks for (the shop's time zone unless given)."""
    with tenant_session(settings, tenant_id) as session:
        try:
            zone = args.get("tz") or tenant_timezone(session, tenant_id=tenant_id)
            tz = check_zone(session, zone)
            return resolve_range(args.get("start"), args.get("end"), tz, datetime.now(UTC))
        except RangeError as exc:
            raise Invalid("The request is invalid.", fields={exc.field: [str(exc)]}) from exc


def segment(args: dict[str, Any]) -> Segment:
    """The orders the query asks about: a channel, a customer type, or all of them."""
    return Segment(channel=args.get("channel"), customer_type=args.get("customer_type"))


def compute(
    settings: Settings,
    tenant_id: uuid.UUID,
    rng: DayRange,
    *,
    shopify: bool = False,
    segment: Segment | None = None,
) -> dict[str, Any]:
    """Run the independent parts at once, each on a connection of its own (RLS as always).

    On the two-core reference machine this takes an uncached answer from the sum of the parts
    to about the slowest one. Each statement already had its own snapshot (READ COMMITTED), so
    the answer is as consistent as when the parts ran one after another.
    """
    parts = {name: part for name, part in PARTS.items() if shopify or name != "shopify"}
    with ThreadPoolExecutor(max_workers=len(parts), thread_name_prefix="insights") as pool:
        futures = {
            name: pool.submit(_run_part, settings, tenant_id, part, rng, segment or Segment())
            for name, part in parts.items()
        }
        return assemble(rng, {name: future.result() for name, future in futures.items()})


def _run_part(
    settings: Settings,
    tenant_id: uuid.UUID,
    part: Callable[..., Any],
    rng: DayRange,
    segment: Segment,
) -> Any:
    with tenant_session(settings, tenant_id) as session:
        # Big ranges aggregate in memory.
        session.execute(text("SET LOCAL work_mem = '64MB'"))
        return part(session, tenant_id=tenant_id, rng=rng, segment=segment)


def _json(body: bytes, state: str) -> Response:
    response = Response(body, mimetype="application/json")
    response.headers["X-Cache"] = state
    response.headers["Cache-Control"] = "private, no-cache"
    return response
