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
from resources.registry import Pull

MONEY = "{ shopMoney { amount currencyCode } }"
CUSTOMER_REF = (
    "customer { id firstName lastName defaultEmailAddress { emailAddress } "
    "defaultPhoneNumber { phoneNumber } }"
)


class MappingError(CartwheelError, ValueError):
    """A node that cannot become a row (missing id, malformed value)."""


def search_since(since: datetime | None) -> str:
    """Shopify search syntax for 'updated at or after `since`' (empty: everything)."""
    if since is None:
        return ""
    moment = since.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return f"updated_at:>='{moment}'"


def bulk_query(pull: Pull, since: datetime | None) -> str:
    """The query handed to bulkOperationRunQuery (no page sizes: Shopify pages for us)."""
    search = search_since(since)
    args = f'(query: "{search}")' if search else ""
    children = (
        f" {pull.child} {{ edges {{ node {{ {pull.child_fields} }} }} }}" if pull.child else ""
    )
    node = f"{pull.fields}{children}"
    return f"{{ {pull.connection}{args} {{ edges {{ node {{ {node} }} }} }} }}"


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
    """One page of nodes updated since a time, oldest change first, children included."""
    children = ""
    if pull.child:
        children = (
            f" {pull.child}(first: {pull.child_page}) {{ pageInfo {{ hasNextPage "
            f"endCursor }} edges {{ node {{ {pull.child_fields} }} }} }}"
        )
    return (
        f"query Page($first: Int!, $after: String, $query: String) {{ "
        f"{pull.connection}(first: $first, after: $after, query: $query, sortKey: UPDATED_AT)"
        f" {{ pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {pull.fields}{children} }}"
        f" }} }} }}"
    )


def children_query(pull: Pull) -> str:
    """The rest of one node's children, when a page held only the first of them."""
    return (
        f"query Children($id: ID!, $after: String) {{ {pull.single}(id: $id) {{ id "
        f"{pull.child}(first: 100, after: $after) {{ pageInfo {{ hasNextPage endCursor }} "
        f"edges {{ node {{ {pull.child_fields} }} }} }} }} }}"
    )


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
    amount = (bag or {}).get("shopMoney", {}).get("amount") if isinstance(bag, dict) else None
    return decimal(amount)


def currency(bag: Any) -> str | None:
    """The shop currency of a MoneyBag."""
    return (bag or {}).get("shopMoney", {}).get("currencyCode") if isinstance(bag, dict) else None


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
