"""Execute a parsed operation against a fake shop: connections, lookups, bulk operations.

Supported root fields (documented in devtools/fake_shopify/__init__.py): the connections of
`store.RESOURCES` (`first`/`after`, `query` with `updated_at`/`created_at` comparisons,
`sortKey` ID/UPDATED_AT/CREATED_AT where the connection takes one), the lookups of
`store.SINGLE`, `node(id:)`, `nodes(ids:)`, `shop`, `currentBulkOperation`,
`bulkOperation(id:)`; mutations `bulkOperationRunQuery` and `bulkOperationCancel`. Nested
connections page with `first`/`after` too. Unknown fields are errors, as on Shopify.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from typing import Any, Protocol

from devtools.fake_shopify.graphql import Field, Operation
from devtools.fake_shopify.store import RESOURCES, SINGLE, UNSORTED, ShopData


class BulkOperations(Protocol):
    """What the executor asks of the bulk operations (bulk.BulkOperations)."""

    def start(
        self, shop: ShopData, query: str, api_version: str, group_objects: bool
    ) -> tuple[Any, list[dict[str, Any]]]: ...

    def get(self, shop: ShopData, op_id: str) -> Any: ...

    def current(self, shop: ShopData) -> Any: ...

    def cancel(self, shop: ShopData, op_id: str) -> tuple[Any, list[dict[str, Any]]]: ...

    def view(self, op: Any, base_url: str) -> dict[str, Any] | None: ...


MAX_PAGE = 250
MAX_INPUT_ARRAY = 250
_TERM = re.compile(r"(\w+):(>=|<=|>|<|)\s*(?:'([^']*)'|\"([^\"]*)\"|(\S+))")
_SORT_FIELDS = {"UPDATED_AT": "updatedAt", "CREATED_AT": "createdAt"}


class ExecutionError(Exception):
    """A GraphQL error: reported in `errors`, with an extensions code."""

    def __init__(self, message: str, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.code = code


def parse_time(value: str) -> datetime:
    """A search-syntax or DateTime value as an aware datetime."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ExecutionError(f"Invalid date in search query: {value!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def matches(node: dict[str, Any], query: str | None) -> bool:
    """Shopify search syntax, the part cartwheel uses: `updated_at:>='2026-01-01T00:00:00Z'`."""
    if not query:
        return True
    for m in _TERM.finditer(query):
        name, op = m.group(1), m.group(2)
        value = m.group(3) or m.group(4) or m.group(5) or ""
        attr = {"updated_at": "updatedAt", "created_at": "createdAt"}.get(name)
        if attr is None:
            continue  # Shopify ignores terms it cannot apply
        left, right = parse_time(node[attr]), parse_time(value)
        ok = {
            ">=": left >= right,
            "<=": left <= right,
            ">": left > right,
            "<": left < right,
            "": left == right,
        }[op]
        if not ok:
            return False
    return True


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def _uncursor(value: str) -> list[Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value.encode()))
    except (ValueError, TypeError) as exc:
        raise ExecutionError(f"Invalid cursor for current pagination sort: {value!r}") from exc
    if not isinstance(decoded, list):
        raise ExecutionError("Invalid cursor for current pagination sort.")
    return decoded


def _numeric(node_id: str) -> int:
    return int(node_id.rsplit("/", 1)[-1])


def field_value(node: dict[str, Any], f: Field) -> Any:
    """A node's value for a selected field, with the field's arguments applied."""
    if f.name == "__typename":
        return node["__typename"]
    if f.name not in node or f.name.startswith("_"):
        raise ExecutionError(
            f"Field '{f.name}' doesn't exist on type '{node['__typename']}'", "undefinedField"
        )
    value = node[f.name]
    if f.name == "quantities" and isinstance(value, list):
        names = f.args.get("names")
        if not isinstance(names, list):
            raise ExecutionError("Field 'quantities' is missing required arguments: names")
        value = [q for q in value if q["name"] in names]
    return value


class Projector:
    """Selects fields of stored nodes; `cost` counts the objects resolved (the actual cost)."""

    def __init__(self) -> None:
        self.cost = 0

    def obj(self, node: dict[str, Any] | None, f: Field) -> Any:
        if node is None:
            return None
        self.cost += 1
        return self.select(node, f.selections)

    def select(self, node: dict[str, Any], selections: list[Field]) -> dict[str, Any]:
        """The selected fields of one node; inline fragments apply to nodes of their type."""
        out: dict[str, Any] = {}
        for s in selections:
            if s.on is not None:
                if node["__typename"] == s.on:
                    out.update(self.select(node, s.selections))
            else:
                out[s.key] = self.value(node, s)
        return out

    def value(self, node: dict[str, Any], s: Field) -> Any:
        value = field_value(node, s)
        if s.is_connection:
            return self.connection(value, s, top=False)
        if isinstance(value, dict):
            if not s.selections:
                raise ExecutionError(f"Field must have selections (field '{s.name}')")
            return self.obj(value, s)
        if isinstance(value, list) and s.selections:
            return [self.obj(v, s) for v in value]
        return value

    def connection(self, items: list[dict[str, Any]], f: Field, *, top: bool) -> dict[str, Any]:
        raise ExecutionError(f"Field '{f.name}' is a connection, which is not read here")


class Executor(Projector):
    """Runs one operation for one shop; `cost` accumulates the actual query cost."""

    def __init__(self, shop: ShopData, bulk: BulkOperations, api_version: str, base_url: str):
        super().__init__()
        self.shop, self.bulk, self.api_version, self.base_url = shop, bulk, api_version, base_url

    def run(self, operation: Operation) -> dict[str, Any]:
        if operation.kind == "mutation":
            return {f.key: self.mutation(f) for f in operation.fields}
        return {f.key: self.root(f) for f in operation.fields}

    def root(self, f: Field) -> Any:
        kind = RESOURCES.get(f.name)
        if kind is not None:
            if not f.is_connection:
                raise ExecutionError(f"Field '{f.name}' returns a connection; select edges")
            return self.connection(self.shop.listing(kind), f, top=True)
        if f.name in SINGLE or f.name == "node":
            node = self.shop.by_gid(str(f.args.get("id") or ""))
            wrong = f.name != "node" and node is not None and node["__typename"] != SINGLE[f.name]
            return None if wrong else self.obj(node, f)
        if f.name == "nodes":
            return [self.obj(n, f) for n in self._by_ids(f.args.get("ids"))]
        if f.name == "shop":
            return self.obj(
                {
                    "__typename": "Shop",
                    "name": self.shop.domain.split(".")[0],
                    "myshopifyDomain": self.shop.domain,
                },
                f,
            )
        if f.name == "currentBulkOperation":
            return self.obj(self.bulk.view(self.bulk.current(self.shop), self.base_url), f)
        if f.name == "bulkOperation":
            op = self.bulk.get(self.shop, str(f.args.get("id") or ""))
            return self.obj(self.bulk.view(op, self.base_url), f)
        raise ExecutionError(
            f"Field '{f.name}' doesn't exist on type 'QueryRoot'", "undefinedField"
        )

    def _by_ids(self, ids: Any) -> list[dict[str, Any] | None]:
        if not isinstance(ids, list):
            raise ExecutionError("Field 'nodes' is missing required arguments: ids")
        if len(ids) > MAX_INPUT_ARRAY:
            raise ExecutionError(
                f"The input array size of {len(ids)} is greater than the maximum allowed of "
                f"{MAX_INPUT_ARRAY}.",
                "MAX_INPUT_SIZE_EXCEEDED",
            )
        return [self.shop.by_gid(str(i)) for i in ids]

    def mutation(self, f: Field) -> Any:
        if f.name == "bulkOperationRunQuery":
            op, errors = self.bulk.start(
                self.shop,
                str(f.args.get("query") or ""),
                self.api_version,
                bool(f.args.get("groupObjects", False)),
            )
        elif f.name == "bulkOperationCancel":
            op, errors = self.bulk.cancel(self.shop, str(f.args.get("id") or ""))
        else:
            raise ExecutionError(f"Field '{f.name}' doesn't exist on type 'Mutation'")
        payload = {
            "__typename": "Payload",
            "bulkOperation": self.bulk.view(op, self.base_url),
            "userErrors": [{"__typename": "BulkOperationUserError", **e} for e in errors],
        }
        saved, self.cost = self.cost, 0
        result = self.obj(payload, f)
        self.cost = saved  # a mutation costs its flat price, whatever it selects
        return result

    def connection(self, items: list[dict[str, Any]], f: Field, *, top: bool) -> dict[str, Any]:
        first = f.args.get("first")
        if f.args.get("last") is not None or f.args.get("before") is not None:
            raise ExecutionError("cartwheel's fake pages forwards only (first/after)")
        if not isinstance(first, int) or first < 0:
            raise ExecutionError(
                "you must provide one of first or last", "argumentLiteralsIncompatible"
            )
        if first > MAX_PAGE:
            raise ExecutionError(f"The maximum page size is {MAX_PAGE}.", "MAX_PAGE_SIZE")
        keyed = self._ordered(items, f, top)
        after = f.args.get("after")
        if after:
            mark = _uncursor(after)
            keyed = [(k, n) for k, n in keyed if k > mark]
        page, more = keyed[:first], len(keyed) > first
        self.cost += 2
        nodes = [(k, self.obj(n, _node_field(f))) for k, n in page]
        result: dict[str, Any] = {}
        for s in f.selections:
            if s.name == "edges":
                node_sel = s.child("node")
                result[s.key] = [
                    {
                        **({"cursor": _cursor(k)} if s.child("cursor") else {}),
                        **({node_sel.key: n} if node_sel else {}),
                    }
                    for k, n in nodes
                ]
            elif s.name == "nodes":
                result[s.key] = [n for _, n in nodes]
            elif s.name == "pageInfo":
                info = {
                    "hasNextPage": more,
                    "hasPreviousPage": bool(after),
                    "endCursor": _cursor(page[-1][0]) if page else None,
                    "startCursor": _cursor(page[0][0]) if page else None,
                }
                result[s.key] = {p.key: info.get(p.name) for p in s.selections}
        return result

    def _ordered(
        self, items: list[dict[str, Any]], f: Field, top: bool
    ) -> list[tuple[list[Any], dict[str, Any]]]:
        if not top:
            return [([i], n) for i, n in enumerate(items)]
        if f.name in UNSORTED and "sortKey" in f.args:
            raise ExecutionError(
                f"Field '{f.name}' doesn't accept argument 'sortKey'", "argumentNotAccepted"
            )
        query = f.args.get("query")
        chosen = [n for n in items if matches(n, query)]
        sort = _SORT_FIELDS.get(str(f.args.get("sortKey") or "ID"))
        keyed = [
            ([parse_time(n[sort]).timestamp() if sort else 0, _numeric(n["id"])], n) for n in chosen
        ]
        if f.args.get("reverse"):
            raise ExecutionError("cartwheel's fake does not page in reverse")
        keyed.sort(key=lambda kn: kn[0])
        return keyed


def _node_field(f: Field) -> Field:
    return Field("node", selections=f.node_selection())
