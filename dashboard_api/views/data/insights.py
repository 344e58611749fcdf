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
from dashboard_api.csv_export import (
    CsvFormatArgs,
    column,
    columns_of,
    csv_response,
    document_csv,
    wants_csv,
)
from dashboard_api.db import tenant_session
from dashboard_api.errors import Invalid
from dashboard_api.queries.customers import SEGMENTS
from dashboard_api.queries.insights import PARTS, assemble
from dashboard_api.queries.ranges import (
    DayRange,
    RangeError,
    check_zone,
    resolve_range,
    tenant_timezone,
    zone_known,
)
from dashboard_api.queries.sales import CUSTOMER_TYPES, Segment
from dashboard_api.views.data.fields import Rows, text_argument
from dashboard_api.views.data.schemas import IdString, Money, no_nul

blp = Blueprint(
    "insights", __name__, url_prefix="/api", description="Totals and series for dashboards."
)


class RangeArgs(Schema):
    """A range of local days (the shop's time zone unless told)."""

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


class InsightsArgs(RangeArgs):
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
    segment = fields.String(
        validate=validate.OneOf(SEGMENTS),
        metadata={
            "description": "Only orders of the customers in this RFM segment, as "
            "`/api/analytics/customers?segment=` lists them (the last analytics recompute's)."
        },
    )
    tag = text_argument(
        "Only orders of the customers with this tag (case-insensitive), as "
        "`/api/analytics/customers?tag=` lists them."
    )
    product_type = text_argument(
        "Only orders with a line of a product of this type (Shopify's category; "
        "case-insensitive), as `/api/orders?product_type=` lists them."
    )
    vendor = text_argument(
        "Only orders with a line of a product of this vendor (case-insensitive), as "
        "`/api/orders?vendor=` lists them."
    )


class InsightsQuery(InsightsArgs, CsvFormatArgs):
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


class CheckoutCountsOut(Schema):
    """Checkouts started, by the status they have now, and the abandoned and recovered value."""

    started = fields.Integer(required=True)
    open = fields.Integer(required=True)
    completed = fields.Integer(required=True)
    abandoned = fields.Integer(required=True)
    abandoned_value = Money(required=True)
    recovered = fields.Integer(required=True)
    recovered_value = Money(required=True)


class CheckoutsOut(CheckoutCountsOut):
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
    revenue_by_day = Rows(DayOut, required=True)
    top_customers = fields.List(fields.Nested(TopCustomerOut), required=True)
    repeat_purchase = fields.Nested(RepeatOut, required=True)
    checkouts = fields.Nested(CheckoutsOut, required=True)
    carts = fields.Nested(CartsOut, required=True)


_SCHEMA = InsightsOut()


@blp.route("/insights", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(InsightsQuery, location="query")
@blp.response(200, InsightsOut)
@document_csv(blp)
def insights(args: dict[str, Any]) -> Response:
    """Insights for a range of days in the shop's time zone

    Money is exact decimal text in the shop currency; rates have four places and are null when
    there is nothing to divide by. docs/metrics.md has every definition. Ranges span at most
    three years (1096 days). `channel` and `customer_type` narrow the order figures, buyers
    and top customers to one segment (customers, checkouts and carts stay the shop's whole).
    `format=csv` gives the revenue by day (`revenue_by_day`, with `shopify_net_sales` only
    with `shopify=true`) as CSV, one row per day; the other parts are JSON only.
    Answers are cached until the shop's data changes (`X-Cache: hit|miss`), CSV too.
    """
    principal = current_principal()
    settings, client = current_settings(), current_redis()
    # Before any data is read: see dashboard_api/cache.py.
    version = cache.tenant_version(client, settings, principal.tenant_id)
    rng = day_range(settings, principal.tenant_id, args, version)

    with_shopify = bool(args.get("shopify"))
    seg = segment(args)

    def body() -> bytes:
        result = compute(settings, principal.tenant_id, rng, shopify=with_shopify, segment=seg)
        return json_body(_SCHEMA, result)

    name = ("insights+shopify" if with_shopify else "insights") + seg.key()
    if not wants_csv(args):
        return answer(client, settings, principal.tenant_id, version, (name, rng), body)
    return csv_of(
        cached_body(client, settings, principal.tenant_id, version, (name, rng), body),
        ("revenue_by_day", DayOut),
        filename=f"insights-revenue-by-day-{rng.start}-{rng.end}",
        tz=rng.tz,
        skip=() if with_shopify else ("shopify_net_sales",),
    )


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
    return json_answer(*cached_body(client, settings, tenant_id, version, what, compute_body))


def cached_body(
    client: Any,
    settings: Settings,
    tenant_id: uuid.UUID,
    version: int,
    what: tuple[str, DayRange],
    compute_body: Callable[[], bytes],
) -> tuple[bytes, str]:
    """A range answer's JSON body, and `hit` or `miss` (see `answer`)."""
    name, rng = what
    parts = (rng.start.isoformat(), rng.end.isoformat(), rng.tz)
    return cache.cached_body(client, settings, tenant_id, version, (name, parts), compute_body)


def json_body(schema: Schema, answer: Any) -> bytes:
    """An answer dumped by its schema as compact JSON: what the cache stores."""
    return json.dumps(schema.dump(answer), separators=(",", ":")).encode()


def csv_of(
    cached: tuple[bytes, str],
    part: tuple[str, type[Schema]],
    *,
    filename: str,
    tz: str,
    skip: tuple[str, ...] = (),
) -> Response:
    """The rows of one list of a cached JSON answer (its name and row schema) as CSV. The
    values are the JSON's own text (exact money), so each column takes them as they are."""
    body, state = cached
    name, schema = part
    columns = [column(c.name) for c in columns_of(schema, skip=skip)]
    response = csv_response(columns, json.loads(body)[name], filename=filename, tz=tz)
    response.headers["X-Cache"] = state
    return response


def day_range(
    settings: Settings, tenant_id: uuid.UUID, args: dict[str, Any], version: int
) -> DayRange:
    """The range of local days the query asks for (the shop's time zone unless given).

    The shop's zone is remembered per data version (a zone change bumps it, as every change
    does), so a cached answer needs no database at all."""
    known = _TENANT_ZONES.get(tenant_id)
    zone = args.get("tz") or (known[1] if known and known[0] == version else None)
    try:
        if zone is not None and zone_known(zone):
            return resolve_range(args.get("start"), args.get("end"), zone, datetime.now(UTC))
        with tenant_session(settings, tenant_id) as session:
            if zone is None:
                zone = tenant_timezone(session, tenant_id=tenant_id)
                _TENANT_ZONES[tenant_id] = (version, zone)
                while len(_TENANT_ZONES) > 10_000:  # the oldest first
                    del _TENANT_ZONES[next(iter(_TENANT_ZONES))]
            tz = check_zone(session, zone)
        return resolve_range(args.get("start"), args.get("end"), tz, datetime.now(UTC))
    except RangeError as exc:
        raise Invalid("The request is invalid.", fields={exc.field: [str(exc)]}) from exc


_TENANT_ZONES: dict[uuid.UUID, tuple[int, str]] = {}


def segment(args: dict[str, Any]) -> Segment:
    """The orders the query asks about: of a channel, a customer type, the customers of an RFM
    segment or with a tag, those with a line of a product type or vendor, or all of them."""
    tag = args.get("tag")
    return Segment(
        channel=args.get("channel"),
        customer_type=args.get("customer_type"),
        rfm_segment=args.get("segment"),
        tag=tag.strip().lower() if tag is not None else None,
        product_type=args.get("product_type"),
        vendor=args.get("vendor"),
    )


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


def json_answer(body: bytes, state: str) -> Response:
    """A JSON body as the answer, `X-Cache` telling whether it came from the cache."""
    response = Response(body, mimetype="application/json")
    response.headers["X-Cache"] = state
    response.headers["Cache-Control"] = "private, no-cache"
    return response
