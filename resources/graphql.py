"""The GraphQL Admin API side of the registry: query builders and the conversions node mappers use.

Pure functions: GraphQL shapes in (camelCase, GIDs, MoneyBag), the same column values the webhook
path produces out (numeric ids from the GID suffix, shop-money decimals, lower-case REST enums,
aware datetimes). Columns the Admin API does not expose are left out of a mapped row, so that an
upsert keeps whatever a webhook stored there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import CartwheelError
from resources.fields import BIGINT_MAX
from resources.registry import Connection, Nested, Pull, PullContext, Resource
from resources.rows import EntityRow

MONEY = "{ shopMoney { amount currencyCode } }"
# A MoneyBag in both currencies: the shop's, and the buyer's (presentment) currency.
BAG = "{ shopMoney { amount currencyCode } presentmentMoney { amount currencyCode } }"
CUSTOMER_REF = (
    "customer { id firstName lastName defaultEmailAddress { emailAddress } "
    "defaultPhoneNumber { phoneNumber } }"
)
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"


class MappingError(CartwheelError, ValueError):
    """A node that cannot become a row (missing id, malformed value)."""


def search_since(since: datetime | None) -> str:
    """Shopify search syntax for 'updated at or after `since`' (empty: everything)."""
    if since is None:
        return ""
    moment = since.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return f"updated_at:>='{moment}'"


def _lists(pull: Pull) -> str:
    """The node's lists whose items have connections, with the items' own fields only."""
    return "".join(f" {n.name} {{ {n.fields} }}" for n in pull.nested)


def bulk_query(pull: Pull, since: datetime | None) -> str:
    """The query handed to bulkOperationRunQuery (no page sizes: Shopify pages for us).

    Each node of a connection becomes a line of its own in the result, so each asks for its
    `__typename`, which says which connection it belongs to. The connections of list items
    are left out: bulk operations refuse a connection inside a list.
    """
    search = search_since(since)
    args = f'(query: "{search}")' if search else ""
    connections = "".join(
        f" {c.name} {{ edges {{ node {{ {_typed(c.fields)} }} }} }}" for c in pull.connections
    )
    node = f"{pull.fields}{_lists(pull)}{connections}"
    return f"{{ {pull.connection}{args} {{ edges {{ node {{ {node} }} }} }} }}"


def _typed(fields: str) -> str:
    return fields if fields.split(" ", 1)[0] == "__typename" else f"__typename {fields}"


def _first_page(connection: Connection) -> str:
    return (
        f" {connection.name}(first: {connection.page}) {{ {_PAGE_INFO} "
        f"edges {{ node {{ {connection.fields} }} }} }}"
    )


def node_selection(pull: Pull) -> str:
    """What a paginated query reads of one node: its fields, its lists, the first page of each
    of its connections."""
    return pull.fields + _lists(pull) + "".join(_first_page(c) for c in pull.connections)


RUN_BULK = """
mutation RunBulk($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status createdAt }
    userErrors { field message }
  }
}"""
BULK_FIELDS = (
    "id status errorCode createdAt completedAt objectCount rootObjectCount fileSize url "
    "partialDataUrl"
)
BULK_BY_ID = f"query BulkById($id: ID!) {{ bulkOperation(id: $id) {{ {BULK_FIELDS} }} }}"
CURRENT_BULK = f"{{ currentBulkOperation(type: QUERY) {{ {BULK_FIELDS} }} }}"


def page_query(pull: Pull) -> str:
    """One page of nodes updated since a time (oldest change first, where the connection
    sorts), each with the first page of its connections."""
    sort = f", sortKey: {pull.sort_key}" if pull.sort_key else ""
    return (
        f"query Page($first: Int!, $after: String, $query: String) {{ "
        f"{pull.connection}(first: $first, after: $after, query: $query{sort})"
        f" {{ {_PAGE_INFO} edges {{ node {{ {node_selection(pull)} }} }} }} }}"
    )


def single_query(pull: Pull) -> str:
    """One node by id, read as a page reads it."""
    return f"query One($id: ID!) {{ {pull.single}(id: $id) {{ {node_selection(pull)} }} }}"


def rest_query(owner: str, connection: Connection) -> str:
    """The next nodes of one connection of the `owner`-typed node with the given id."""
    return (
        f"query Rest($id: ID!, $after: String) {{ node(id: $id) {{ ... on {owner} {{ "
        f"{connection.name}(first: {connection.rest}, after: $after) {{ {_PAGE_INFO} "
        f"edges {{ node {{ {connection.fields} }} }} }} }} }} }}"
    )


def items_query(nested: Nested) -> str:
    """The first page of each connection of list items, read by the items' ids."""
    connections = "".join(_first_page(c) for c in nested.connections)
    return (
        f"query Items($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on {nested.gid_type} "
        f"{{ id{connections} }} }} }}"
    )


def gid(kind: str, key: Any) -> str:
    """The global id of a node: `gid("Order", 123)` -> `gid://shopify/Order/123`."""
    return f"gid://shopify/{kind}/{key}"


def gid_type(value: Any) -> str:
    """The type named by a global id: `gid://shopify/Order/123` -> `Order`."""
    parts = str(value or "").split("/")
    return parts[3] if len(parts) > 4 else ""


def numeric_id(gid: Any) -> int:
    """`gid://shopify/Order/123` (or a bare number) -> 123."""
    text = str(gid or "").split("?", 1)[0].rsplit("/", 1)[-1]
    if not text.isdigit() or not 0 < int(text) <= BIGINT_MAX:
        raise MappingError(f"not a Shopify id: {str(gid)[:80]!r}")
    return int(text)


def ref(obj: Any) -> int | None:
    """The numeric id of a `{ id }` reference, or None."""
    return numeric_id(obj["id"]) if isinstance(obj, dict) and obj.get("id") else None


def time(value: Any) -> datetime | None:
    """A DateTime scalar as an aware datetime."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"not a timestamp: {str(value)[:40]!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def money(bag: Any) -> Decimal | None:
    """The shop-currency amount of a MoneyBag."""
    return _bag_amount(bag, "shopMoney")


def presentment(bag: Any) -> Decimal | None:
    """The buyer-currency (presentment) amount of a MoneyBag."""
    return _bag_amount(bag, "presentmentMoney")


def _bag_amount(bag: Any, side: str) -> Decimal | None:
    inner = bag.get(side) if isinstance(bag, dict) else None
    return decimal(inner.get("amount")) if isinstance(inner, dict) else None


def currency(bag: Any) -> str | None:
    """The shop currency of a MoneyBag."""
    return (bag or {}).get("shopMoney", {}).get("currencyCode") if isinstance(bag, dict) else None


def money_pair(name: str, bag: Any) -> dict[str, Any]:
    """A MoneyBag as two columns: `name` in shop money, `name_presentment` in the buyer's."""
    return {name: money(bag), f"{name}_presentment": presentment(bag)}


def presentment_currency(bag: Any) -> str | None:
    """The buyer's currency of a MoneyBag."""
    inner = bag.get("presentmentMoney") if isinstance(bag, dict) else None
    return inner.get("currencyCode") if isinstance(inner, dict) else None


def total(amounts: list[Decimal | None]) -> Decimal | None:
    """Σ of the known amounts: 0 for no items, None when items name no amount (as the webhook
    path adds up a line's taxes and discounts)."""
    known = [a for a in amounts if a is not None]
    return sum(known, Decimal(0)) if known else (Decimal(0) if not amounts else None)


def decimal(amount: Any) -> Decimal | None:
    if amount is None:
        return None
    try:
        return Decimal(str(amount))
    except InvalidOperation as exc:
        raise MappingError(f"not an amount: {str(amount)[:40]!r}") from exc


def lower(value: Any) -> str | None:
    """A GraphQL enum as REST spells it."""
    return str(value).lower() if value else None


def customer_ref(obj: Any) -> dict[str, Any] | None:
    """An embedded Customer node (CUSTOMER_REF) as customers columns, with its shopify_id."""
    if not isinstance(obj, dict) or not obj.get("id"):
        return None
    return {
        "shopify_id": numeric_id(obj["id"]),
        "email": (obj.get("defaultEmailAddress") or {}).get("emailAddress"),
        "first_name": obj.get("firstName"),
        "last_name": obj.get("lastName"),
        "phone": (obj.get("defaultPhoneNumber") or {}).get("phoneNumber"),
    }


def humanize(value: Any) -> str | None:
    """A GraphQL enum as REST writes it in prose: `REFUND_DISCREPANCY` -> `Refund discrepancy`."""
    return str(value).replace("_", " ").capitalize() if value else None


def items(value: Any) -> list[dict[str, Any]]:
    """A list field's items (a null list is an empty one)."""
    return [v for v in value or () if isinstance(v, dict)]


def pulled_version(
    resource: Resource,
    context: PullContext,
    key: Any,
    values: dict[str, Any],
    *,
    updated_at: datetime | None,
    payload: Any = None,
    children: dict[str, list[dict[str, Any]]] | None = None,
) -> EntityRow:
    """A row embedded in a pulled node that is a version of its own entity (a refund, with its
    `updatedAt`), written by last-writer-wins like the node itself. Without a version (a
    transaction has none) it only fills a gap: it never beats a stored row."""
    return EntityRow(
        resource.name,
        context.tenant_id,
        key,
        values,
        updated_at,
        None,
        context.source,
        payload=payload,
        children=children,
    )
