"""Gather a pulled node whole: every connection of it, and of the items of its lists, read to
the end and set under the connection's name as a plain list of nodes (what `map_node` reads).

A page reads the first nodes of each connection and the rest follows by the owner's id; a bulk
result has every node of a connection on a line of its own, told apart by `__typename`. Neither
can read a connection inside a list (an order's refunds' lines: bulk operations refuse it), so
those are read afterwards by the list items' ids, a few items per query.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from resources import graphql as gql
from resources.registry import Connection, Nested, Pull

Node = dict[str, Any]


class Client(Protocol):
    def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]: ...


def from_bulk(pull: Pull, node: Node, lines: list[Node]) -> Node:
    """A bulk result's root node with its connections' lines under their names."""
    whole = dict(node)
    for connection in pull.connections:
        whole[connection.name] = []
    by_type = {t: c.name for c in pull.connections for t in c.types}
    alone = pull.connections[0].name if len(pull.connections) == 1 else None
    for line in lines:
        name = by_type.get(str(line.get("__typename"))) or alone
        if name is not None:
            whole[name].append(line)
    return whole


def from_page(client: Client, pull: Pull, node: Node) -> Node:
    """A page's node with each of its connections read to the end."""
    whole = dict(node)
    for connection in pull.connections:
        whole[connection.name] = list(_read(client, pull.gid_type, connection, node))
    return whole


def complete_nested(client: Client, pull: Pull, nodes: list[Node]) -> None:
    """Read the connections of the nodes' list items (refund lines, fulfillment lines), in
    place."""
    for nested in pull.nested:
        items = [i for node in nodes for i in gql.items(node.get(nested.name))]
        for start in range(0, len(items), nested.batch):
            _complete_items(client, nested, items[start : start + nested.batch])


def _complete_items(client: Client, nested: Nested, items: list[Node]) -> None:
    query = gql.items_query(nested)
    found = client.execute(query, {"ids": [i["id"] for i in items]}).get("nodes") or []
    read = {n["id"]: n for n in found if isinstance(n, dict) and n.get("id")}
    for item in items:
        first = read.get(item["id"], {})
        for connection in nested.connections:
            item[connection.name] = list(
                _read(client, nested.gid_type, connection, {"id": item["id"], **first})
            )


def _read(client: Client, owner: str, connection: Connection, node: Node) -> Iterator[Node]:
    """The nodes of one connection of `node`: its first page, then the rest by its id."""
    page = node.get(connection.name) or {}
    while True:
        yield from (e["node"] for e in page.get("edges") or ())
        info = page.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return
        rest = client.execute(
            gql.rest_query(owner, connection), {"id": node["id"], "after": info["endCursor"]}
        )
        page = (rest.get("node") or {}).get(connection.name) or {}
