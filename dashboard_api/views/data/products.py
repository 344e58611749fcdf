"""GET /api/analytics/products: product sales by product, variant, product type or vendor."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response
from marshmallow import Schema, fields, validate

from dashboard_api import cache
from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, current_principal, require_role
from dashboard_api.context import current_redis, current_settings
from dashboard_api.csv_export import (
    CsvFormatArgs,
    columns_of,
    csv_response,
    document_csv,
    wants_csv,
)
from dashboard_api.db import tenant_session
from dashboard_api.queries.products import GROUPS, products_report
from dashboard_api.views.data.fields import Rows, text_argument
from dashboard_api.views.data.insights import InsightsArgs, answer, day_range, json_body
from dashboard_api.views.data.schemas import IdString, Money, no_nul

blp = Blueprint(
    "products_report",
    __name__,
    url_prefix="/api/analytics",
    description="Product sales, profit, trends and sell-through.",
)


class ProductsArgs(InsightsArgs, CsvFormatArgs):
    group_by = fields.String(
        load_default="product",
        validate=validate.OneOf(GROUPS),
        metadata={"description": "One row per product (default), variant, product type or vendor."},
    )
    product_type = text_argument(
        "Only products of this type (Shopify's category; case-insensitive)."
    )
    vendor = text_argument("Only products of this vendor (case-insensitive).")
    channel = fields.String(
        validate=[validate.Length(max=255), no_nul],
        metadata={"description": "Only orders of this sales channel (`source_name`; empty: none)."},
    )
    customer_type = fields.String(
        validate=validate.OneOf(["new", "returning", "guest"]),
        metadata={"description": "Only orders of new or returning customers, or guests."},
    )
    limit = fields.Integer(
        load_default=100,
        validate=validate.Range(min=1, max=1000),
        metadata={
            "description": "How many groups `items` lists, highest net sales first (1-1000); "
            "`item_count` says how many there are. `format=csv` gives every group."
        },
    )


def _rate(description: str) -> fields.Float:
    return fields.Float(required=True, allow_none=True, metadata={"description": description})


class ProductFiguresOut(Schema):
    units_sold = fields.Integer(required=True, metadata={"description": "Units ordered."})
    units_returned = fields.Integer(
        required=True, metadata={"description": "Units refunded, or left on cancelled orders."}
    )
    net_units = fields.Integer(required=True, metadata={"description": "sold - returned"})
    gross_sales = Money(required=True, metadata={"description": "Line price times quantity."})
    discounts = Money(required=True, metadata={"description": "Negative."})
    returns = Money(required=True, metadata={"description": "Negative: goods returned."})
    net_sales = Money(required=True, metadata={"description": "gross + discounts + returns"})
    refund_rate = _rate("units_returned / units_sold")
    cost_of_goods_sold = Money(required=True, metadata={"description": "Units with a cost."})
    net_sales_with_cost_recorded = Money(required=True)
    gross_profit = Money(
        required=True, metadata={"description": "net_sales_with_cost_recorded - cost_of_goods_sold"}
    )
    units_with_cost = fields.Integer(
        required=True, metadata={"description": "Net units whose unit cost is known."}
    )
    cost_coverage = _rate("units_with_cost / net_units: the share of units gross profit covers")


class ProductRowOut(ProductFiguresOut):
    product_id = IdString(allow_none=True, metadata={"description": "Null: custom lines."})
    variant_id = IdString(allow_none=True)
    title = fields.String(allow_none=True, metadata={"description": "The product's title."})
    variant_title = fields.String(allow_none=True)
    sku = fields.String(allow_none=True)
    product_type = fields.String(allow_none=True)
    vendor = fields.String(allow_none=True)
    previous_net_sales = Money(
        required=True, metadata={"description": "Net sales of the previous period as long."}
    )
    growth = _rate("(net_sales - previous_net_sales) / |previous_net_sales|")
    available = fields.Integer(
        allow_none=True, metadata={"description": "Units available now, at every location."}
    )
    sell_through = fields.Float(
        allow_none=True, metadata={"description": "net_units / (net_units + available)"}
    )


class ProductsReportOut(Schema):
    start = fields.Date(data_key="from", required=True)
    end = fields.Date(data_key="to", required=True)
    tz = fields.String(required=True)
    group_by = fields.String(required=True)
    source = fields.String(
        required=True, metadata={"description": "`rollup` (the daily rollup) or `rows`."}
    )
    currency = fields.String(required=True, allow_none=True)
    totals = fields.Nested(ProductFiguresOut, required=True)
    item_count = fields.Integer(required=True, metadata={"description": "Groups in the range."})
    items = Rows(
        ProductRowOut,
        required=True,
        metadata={"description": "The first `limit` groups by net sales, then net units."},
    )
    top_by_net_sales = Rows(ProductRowOut, required=True)
    top_by_units = Rows(ProductRowOut, required=True)
    trending = Rows(
        ProductRowOut,
        required=True,
        metadata={"description": "Most grown in net sales against the previous period."},
    )


_SCHEMA = ProductsReportOut()
_FILTERS = ("product_type", "vendor", "channel", "customer_type", "segment", "tag")


@blp.route("/products", methods=["GET"])
@require_role(*READ_ROLES)
@blp.arguments(ProductsArgs, location="query")
@blp.response(200, ProductsReportOut)
@document_csv(blp)
def products(args: dict[str, Any]) -> Response:
    """Product sales for a range of days in the shop's time zone

    docs/metrics.md ("Products") defines every figure: units and money net of refunds and
    cancellations, refund rate, gross profit where unit costs are known, the top products, the
    trending ones (against the previous period of as many days) and sell-through from the
    inventory available now. Money is exact decimal text in the shop currency. Ranges span at
    most three years (1096 days). `format=csv` gives the rows (`items`) as CSV. JSON answers
    are cached until the shop's data changes (`X-Cache: hit|miss`).
    """
    principal = current_principal()
    settings, client = current_settings(), current_redis()
    version = cache.tenant_version(client, settings, principal.tenant_id)
    rng = day_range(settings, principal.tenant_id, args, version)
    group_by = args["group_by"]
    filters = {name: args[name] for name in _FILTERS if args.get(name) is not None}
    if "tag" in filters:
        filters["tag"] = filters["tag"].strip().lower()

    def compute(limit: int | None) -> dict[str, Any]:
        with tenant_session(settings, principal.tenant_id) as session:
            return products_report(
                session, tenant_id=principal.tenant_id, rng=rng, group_by=group_by,
                filters=filters, limit=limit,
            )  # fmt: skip

    if wants_csv(args):
        report = compute(None)
        columns = columns_of(ProductRowOut, skip=_unused(group_by))
        name = f"products-{group_by}-{rng.start}-{rng.end}"
        return csv_response(columns, report["items"], filename=name, tz=rng.tz)

    def body() -> bytes:
        return json_body(_SCHEMA, compute(args["limit"]))

    # Filters are free text: hashed, so that no two sets of them can share a key.
    chosen = json.dumps([group_by, args["limit"], sorted(filters.items())]).encode()
    kind = f"products:{hashlib.sha256(chosen).hexdigest()[:32]}"
    return answer(client, settings, principal.tenant_id, version, (kind, rng), body)


def _unused(group_by: str) -> tuple[str, ...]:
    """The label columns a grouping does not fill."""
    labels = {
        "product": ("variant_id", "variant_title", "sku"),
        "variant": ("product_type", "vendor"),
        "product_type": ("product_id", "variant_id", "title", "variant_title", "sku", "vendor"),
        "vendor": ("product_id", "variant_id", "title", "variant_title", "sku", "product_type"),
    }
    sell_through = () if group_by in ("product", "variant") else ("available", "sell_through")
    return labels[group_by] + sell_through
