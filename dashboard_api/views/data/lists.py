"""Data endpoints: paged lists and single rows of the tenant's Shopify entities."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Response
from marshmallow import Schema

from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, current_principal, require_role
from dashboard_api.context import current_settings
from dashboard_api.csv_export import columns_of, csv_response, document_csv, wants_csv
from dashboard_api.db import tenant_session
from dashboard_api.errors import Invalid, NotFound
from dashboard_api.queries.lists import get_entity, iter_entities, list_entities
from dashboard_api.queries.pagination import CursorError
from dashboard_api.queries.ranges import tenant_timezone
from dashboard_api.views.data import arguments as a
from dashboard_api.views.data import money_schemas as m
from dashboard_api.views.data import schemas as s

blp = Blueprint(
    "data",
    __name__,
    url_prefix="/api",
    description="The shop's customers, products, orders, checkouts, carts, refunds, "
    "transactions, fulfillments and inventory.",
)


@dataclass(frozen=True)
class Served:
    """How a resource is served: its query arguments, a list item, and the single row."""

    singular: str
    args: type[Schema]
    item: type[Schema]
    detail: type[Schema] | None  # None: no single-row endpoint
    identity: str = "Shopify id"


RESOURCES: dict[str, Served] = {
    "customers": Served("customer", a.CustomerArgs, s.CustomerOut, s.CustomerOut),
    "products": Served("product", a.ProductArgs, s.ProductOut, s.ProductOut),
    "orders": Served("order", a.OrderArgs, s.OrderOut, s.OrderOut),
    "checkouts": Served("checkout", a.CheckoutArgs, s.CheckoutOut, s.CheckoutOut, "token"),
    "carts": Served("cart", a.CartArgs, s.CartOut, s.CartOut, "token"),
    "refunds": Served("refund", a.RefundArgs, m.RefundOut, m.RefundDetailOut),
    "transactions": Served("transaction", a.TransactionArgs, m.TransactionOut, m.TransactionOut),
    "fulfillments": Served("fulfillment", a.FulfillmentArgs, m.FulfillmentOut, m.FulfillmentOut),
    "inventory-items": Served(
        "inventory item", a.InventoryItemArgs, m.InventoryItemOut, m.InventoryItemDetailOut
    ),
    # Addressed by item and location: the list filters on either.
    "inventory-levels": Served("inventory level", a.InventoryLevelArgs, m.InventoryLevelOut, None),
}
_PAGING = ("limit", "cursor", "sort", "format")


def _export(resource: str, args: dict[str, Any], filters: dict[str, Any]) -> Response:
    """The whole filtered list as CSV, read in batches while it is sent."""
    settings, tenant_id = current_settings(), current_principal().tenant_id
    with tenant_session(settings, tenant_id) as session:
        tz = tenant_timezone(session, tenant_id=tenant_id)

    def rows() -> Iterator[dict[str, Any]]:
        with tenant_session(settings, tenant_id) as session:
            yield from iter_entities(
                session, resource, tenant_id=tenant_id, sort=args["sort"], filters=filters
            )

    columns = columns_of(RESOURCES[resource].item)
    return csv_response(columns, rows(), filename=resource, tz=tz)


def _list_view(resource: str) -> Callable[..., Any]:
    def view(args: dict[str, Any]) -> dict[str, Any] | Response:
        principal = current_principal()
        filters = {k: v for k, v in args.items() if k not in _PAGING}
        if wants_csv(args):
            return _export(resource, args, filters)
        with tenant_session(current_settings(), principal.tenant_id) as session:
            try:
                page = list_entities(
                    session,
                    resource,
                    tenant_id=principal.tenant_id,
                    sort=args["sort"],
                    limit=args["limit"],
                    cursor=args.get("cursor"),
                    filters=filters,
                )
            except CursorError as exc:
                raise Invalid("The request is invalid.", fields={"cursor": [str(exc)]}) from exc
        return {"items": page.items, "next_cursor": page.next_cursor}

    return view


def _get_view(resource: str, singular: str) -> Callable[..., Any]:
    def view(id: str) -> dict[str, Any]:
        principal = current_principal()
        with tenant_session(current_settings(), principal.tenant_id) as session:
            row = get_entity(session, resource, tenant_id=principal.tenant_id, key=id)
        if row is None:
            raise NotFound(f"No such {singular}.")
        return row

    return view


def _register(resource: str) -> None:
    served = RESOURCES[resource]
    name = resource.replace("-", "_")
    singular = served.singular
    page = s.page_of(served.item, f"{singular.title().replace(' ', '')}Page")

    lister = _list_view(resource)
    lister.__name__ = f"list_{name}"
    lister.__doc__ = (
        f"List {resource}, a page at a time\n\nTombstoned (deleted) rows are left out. "
        "`format=csv` (or `Accept: text/csv`) streams every row that the filters select, in "
        "the sort order, as CSV: the items' scalar fields, instants in the shop's time zone "
        "(`limit` and `cursor` do not apply)."
    )
    csv_doc = document_csv(blp)
    blp.route(f"/{resource}", endpoint=lister.__name__, methods=["GET"])(
        require_role(*READ_ROLES)(
            blp.arguments(served.args, location="query")(blp.response(200, page)(csv_doc(lister)))
        )
    )
    if served.detail is None:
        return

    getter = _get_view(resource, singular)
    getter.__name__ = f"get_{singular.replace(' ', '_')}"
    getter.__doc__ = (
        f"One {singular} by {served.identity}\n\nAnother shop's {singular} answers 404."
    )
    blp.route(f"/{resource}/<string:id>", endpoint=getter.__name__, methods=["GET"])(
        require_role(*READ_ROLES)(
            blp.alt_response(404, response="NOT_FOUND")(blp.response(200, served.detail)(getter))
        )
    )


for _resource in RESOURCES:
    _register(_resource)
