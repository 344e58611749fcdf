"""Data endpoints: paged lists and single rows of the tenant's Shopify entities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema

from dashboard_api.api import Blueprint
from dashboard_api.auth import READ_ROLES, current_principal, require_role
from dashboard_api.context import current_settings
from dashboard_api.db import tenant_session
from dashboard_api.errors import Invalid, NotFound
from dashboard_api.queries.lists import get_entity, list_entities
from dashboard_api.queries.pagination import CursorError
from dashboard_api.views.data import schemas as s

blp = Blueprint(
    "data",
    __name__,
    url_prefix="/api",
    description="The shop's customers, products, orders, checkouts and carts.",
)

# resource -> (singular, query arguments, entity schema, what identifies one)
RESOURCES: dict[str, tuple[str, type[Schema], type[Schema], str]] = {
    "customers": ("customer", s.CustomerArgs, s.CustomerOut, "Shopify id"),
    "products": ("product", s.ProductArgs, s.ProductOut, "Shopify id"),
    "orders": ("order", s.OrderArgs, s.OrderOut, "Shopify id"),
    "checkouts": ("checkout", s.CheckoutArgs, s.CheckoutOut, "token"),
    "carts": ("cart", s.CartArgs, s.CartOut, "token"),
}
_PAGING = ("limit", "cursor", "sort")


def _list_view(resource: str) -> Callable[..., Any]:
    def view(args: dict[str, Any]) -> dict[str, Any]:
        principal = current_principal()
        filters = {k: v for k, v in args.items() if k not in _PAGING}
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
    singular, args, out, identity = RESOURCES[resource]
    page = s.page_of(out, f"{singular.title()}Page")

    lister = _list_view(resource)
    lister.__name__ = f"list_{resource}"
    lister.__doc__ = f"List {resource}, a page at a time\n\nTombstoned (deleted) rows are left out."
    blp.route(f"/{resource}", endpoint=lister.__name__, methods=["GET"])(
        require_role(*READ_ROLES)(
            blp.arguments(args, location="query")(blp.response(200, page)(lister))
        )
    )

    getter = _get_view(resource, singular)
    getter.__name__ = f"get_{singular}"
    getter.__doc__ = f"One {singular} by {identity}\n\nAnother shop's {singular} answers 404."
    blp.route(f"/{resource}/<string:id>", endpoint=getter.__name__, methods=["GET"])(
        require_role(*READ_ROLES)(
            blp.alt_response(404, response="NOT_FOUND")(blp.response(200, out)(getter))
        )
    )


for _resource in RESOURCES:
    _register(_resource)
