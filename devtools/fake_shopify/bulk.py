"""Bulk query operations: lifecycle, JSONL results with `__parentId`, signed expiring URLs.

The JSONL layout follows Shopify's documentation: every node of a connection is one line, and
each node of a nested connection is a line of its own carrying `__parentId`. Children are NOT
always next to their parent: some are held back a few parents, some land at the very end of
the file, as the documentation warns they may (unless `groupObjects` is set).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import requests

from devtools.fake_shopify import graphql
from devtools.fake_shopify.graphql import Field
from devtools.fake_shopify.resolvers import ExecutionError, Projector, matches
from devtools.fake_shopify.scalars import timestamp
from devtools.fake_shopify.store import LIST_FIELDS, RESOURCES, ShopData

log = logging.getLogger(__name__)
ALREADY_RUNNING = "A bulk query operation is already running."
ACTIVE = ("CREATED", "RUNNING", "CANCELING")
LIST_CONNECTION = (
    "Queries that contain a connection field within a list field are not currently supported."
)


@dataclass
class BulkOp:
    id: str
    shop: ShopData
    query: str
    root: Field
    created_at: datetime
    group_objects: bool = False
    status: str = "CREATED"
    error_code: str | None = None
    completed_at: datetime | None = None
    object_count: int = 0
    root_count: int = 0
    file_size: int = 0
    path: Path | None = None
    partial: bool = False
    cancel_requested: bool = False


@dataclass
class BulkSettings:
    start_delay: float = 0.05
    run_seconds: float = 0.2
    url_ttl: float = 3600.0
    data_ttl: float = 7 * 86400.0
    fail_next: dict[str, str] = field(default_factory=dict)  # shop domain -> errorCode


def _project(node: dict[str, Any], selections: list[Field]) -> dict[str, Any]:
    """A node's own line: its fields, without its connections (their nodes are lines too)."""
    return Projector().select(node, [s for s in selections if not s.is_connection])


def bulk_lines(
    nodes: Iterable[dict[str, Any]],
    selection: list[Field],
    *,
    hold_every: int = 5,
    hold_for: int = 3,
    tail_every: int = 11,
) -> Iterator[tuple[str, bool]]:
    """(line, is_root) for each JSONL line; some children arrive late or at the very end."""
    nested = [s for s in selection if s.is_connection]
    held: deque[tuple[int, list[str]]] = deque()
    tail: list[str] = []
    for index, node in enumerate(nodes):
        yield json.dumps(_project(node, selection), separators=(",", ":")), True
        children = [
            json.dumps(
                {**_project(child, s.node_selection()), "__parentId": node["id"]},
                separators=(",", ":"),
            )
            for s in nested
            for child in node[s.name]
        ]
        if tail_every and index % tail_every == tail_every - 1:
            tail.extend(children)
        elif hold_every and index % hold_every == 1:
            held.append((index + hold_for, children))
        else:
            yield from ((c, False) for c in children)
        while held and held[0][0] <= index:
            yield from ((c, False) for c in held.popleft()[1])
    for _, children in held:
        yield from ((c, False) for c in children)
    yield from ((c, False) for c in tail)


def write_bulk_file(out: TextIO, nodes: Iterable[dict[str, Any]], selection: list[Field]) -> int:
    """Write a JSONL result; returns the number of root objects."""
    roots = 0
    for line, is_root in bulk_lines(nodes, selection):
        out.write(line + "\n")
        roots += is_root
    return roots


def validate_bulk_query(text: str) -> tuple[Field | None, str | None]:
    """The root connection of a bulk query, or the userError message Shopify would give."""
    try:
        operation = graphql.parse(text)
    except graphql.GraphQLSyntaxError as exc:
        return None, f"Invalid bulk query: {exc}"
    roots = [f for f in operation.fields if f.is_connection]
    if operation.kind != "query" or not roots:
        return None, "Bulk queries must contain at least one connection."
    if len(operation.fields) != 1 or roots[0].name not in RESOURCES:
        return None, "cartwheel's fake supports one top-level connection per bulk query."
    if graphql.connection_count(operation.fields) > 5:
        return None, "Bulk queries cannot contain more than 5 connections."
    if graphql.connection_depth(operation.fields) > 2:
        return None, "Bulk queries cannot contain connections with a nesting depth greater than 2."
    if _connection_in_list(operation.fields):
        return None, LIST_CONNECTION
    root = roots[0]
    selection = root.node_selection()
    if any(s.is_connection for s in selection) and not any(s.name == "id" for s in selection):
        return None, "The parent 'node' field for a nested connection must select the 'id' field."
    return root, None


def _connection_in_list(fields: list[Field], in_list: bool = False) -> bool:
    """Whether a connection sits anywhere inside a list field (a refund's line items)."""
    for f in fields:
        if f.is_connection:
            if in_list or _connection_in_list(f.node_selection()):
                return True
        elif _connection_in_list(f.selections, in_list or f.name in LIST_FIELDS):
            return True
    return False


def _check_fields(shop: ShopData, root: Field) -> str | None:
    """Shopify checks a bulk query against the schema before it runs; the fake tries it on a
    few stored nodes, and gives the error a field it does not hold would bring."""
    sample = shop.listing(RESOURCES[root.name])[:3]
    try:
        for _ in bulk_lines(sample, root.node_selection()):
            pass
    except ExecutionError as exc:
        return str(exc)
    return None


class BulkOperations:
    """Every bulk operation of every fake shop."""

    def __init__(self, directory: Path | None = None, secret: bytes | None = None) -> None:
        self.dir = directory or Path(tempfile.mkdtemp(prefix="fake-shopify-bulk-"))
        self.secret = secret or uuid.uuid4().bytes
        self.settings = BulkSettings()
        self.ops: dict[str, BulkOp] = {}
        self._lock = threading.Lock()
        self._counter = 0

    def start(
        self, shop: ShopData, query: str, api_version: str, group_objects: bool
    ) -> tuple[BulkOp | None, list[dict[str, Any]]]:
        root, problem = validate_bulk_query(query)
        if root is not None:
            problem = _check_fields(shop, root)
        if root is None or problem:
            return None, [{"field": ["query"], "message": problem, "code": "INVALID"}]
        limit = shop.bulk_concurrency or (5 if api_version >= "2026-01" else 1)
        with self._lock:
            running = [o for o in self.ops.values() if o.shop is shop and o.status in ACTIVE]
            if len(running) >= limit:
                return None, [
                    {"field": None, "message": ALREADY_RUNNING, "code": "OPERATION_IN_PROGRESS"}
                ]
            self._counter += 1
            op = BulkOp(
                id=f"gid://shopify/BulkOperation/{5_000_000 + self._counter}",
                shop=shop,
                query=query,
                root=root,
                created_at=datetime.now(UTC),
                group_objects=group_objects,
            )
            self.ops[op.id] = op
        threading.Thread(target=self._run, args=(op,), daemon=True).start()
        return op, []

    def _run(self, op: BulkOp) -> None:
        time.sleep(self.settings.start_delay)
        op.status = "RUNNING"
        path = self.dir / f"{op.id.rsplit('/', 1)[-1]}.jsonl"
        kind = RESOURCES[op.root.name]
        nodes = [n for n in op.shop.listing(kind) if matches(n, op.root.args.get("query"))]
        try:
            with path.open("w") as out:
                op.root_count = write_bulk_file(out, nodes, op.root.node_selection())
        except ExecutionError:
            # A node unlike the sample checked at the start: Shopify would fail the operation.
            log.exception("bulk operation %s failed", op.id)
            self.settings.fail_next.setdefault(op.shop.domain, "INTERNAL_SERVER_ERROR")
        with path.open("rb") as f:
            op.object_count = sum(1 for _ in f)
        op.file_size = path.stat().st_size
        time.sleep(self.settings.run_seconds)
        failure = self.settings.fail_next.pop(op.shop.domain, None)
        if op.cancel_requested:
            op.status = "CANCELED"
        elif failure:
            op.status, op.error_code, op.partial = "FAILED", failure, True
        else:
            op.status = "COMPLETED"
        op.path = path
        op.completed_at = datetime.now(UTC)
        self._notify(op)

    def _notify(self, op: BulkOp) -> None:
        shop = op.shop
        if not (shop.webhook_url and shop.webhook_secret):
            return
        body = json.dumps(
            {
                "admin_graphql_api_id": op.id,
                "completed_at": timestamp(op.completed_at or op.created_at),
                "created_at": timestamp(op.created_at),
                "error_code": op.error_code and op.error_code.lower(),
                "status": op.status.lower(),
                "type": "query",
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": "bulk_operations/finish",
            "X-Shopify-Hmac-Sha256": base64.b64encode(
                hmac.new(shop.webhook_secret.encode(), body, hashlib.sha256).digest()
            ).decode(),
            "X-Shopify-Shop-Domain": shop.domain,
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-API-Version": "2026-07",
            "X-Shopify-Triggered-At": timestamp(datetime.now(UTC)),
        }
        try:
            requests.post(shop.webhook_url, data=body, headers=headers, timeout=5)
        except requests.RequestException as exc:
            log.warning("bulk_operations/finish delivery failed: %s", exc)

    def current(self, shop: ShopData) -> BulkOp | None:
        mine = [o for o in self.ops.values() if o.shop is shop]
        return max(mine, key=lambda o: o.created_at) if mine else None

    def get(self, shop: ShopData, op_id: str) -> BulkOp | None:
        op = self.ops.get(op_id)
        return op if op and op.shop is shop else None

    def cancel(self, shop: ShopData, op_id: str) -> tuple[BulkOp | None, list[dict[str, Any]]]:
        op = self.get(shop, op_id)
        if op is None:
            return None, [{"field": ["id"], "message": "Bulk operation does not exist"}]
        if op.status not in ACTIVE:
            return op, [
                {
                    "field": None,
                    "message": f"A bulk operation cannot be canceled "
                    f"when it is {op.status.lower()}",
                }
            ]
        op.cancel_requested, op.status = True, "CANCELING"
        return op, []

    def view(self, op: BulkOp | None, base_url: str) -> dict[str, Any] | None:
        """The BulkOperation object, with freshly signed result URLs."""
        if op is None:
            return None
        expired = (
            op.completed_at
            and (datetime.now(UTC) - op.completed_at).total_seconds() > self.settings.data_ttl
        )
        if expired and op.status == "COMPLETED":
            op.status = "EXPIRED"
        url = self.sign(op, base_url) if op.status == "COMPLETED" and op.object_count else None
        partial = self.sign(op, base_url) if op.partial and op.status == "FAILED" else None
        return {
            "__typename": "BulkOperation",
            "id": op.id,
            "status": op.status,
            "errorCode": op.error_code,
            "createdAt": timestamp(op.created_at),
            "completedAt": op.completed_at and timestamp(op.completed_at),
            "objectCount": str(op.object_count),
            "rootObjectCount": str(op.root_count),
            "fileSize": str(op.file_size) if op.completed_at else None,
            "url": url,
            "partialDataUrl": partial,
            "query": op.query,
            "type": "QUERY",
        }

    def sign(self, op: BulkOp, base_url: str) -> str:
        number = op.id.rsplit("/", 1)[-1]
        expires = int(time.time() + self.settings.url_ttl)
        return f"{base_url.rstrip('/')}/bulk-results/{number}.jsonl?" + (
            f"Expires={expires}&Signature={self._signature(number, expires)}"
        )

    def _signature(self, number: str, expires: int) -> str:
        return hmac.new(self.secret, f"{number}:{expires}".encode(), hashlib.sha256).hexdigest()

    def result_path(self, number: str, expires: str, signature: str) -> tuple[Path | None, str]:
        """The file a signed URL names, or None and the GCS-style error code."""
        try:
            when = int(expires)
        except ValueError:
            return None, "InvalidArgument"
        if not hmac.compare_digest(self._signature(number, when), signature):
            return None, "SignatureDoesNotMatch"
        if when < time.time():
            return None, "ExpiredToken"
        op = self.ops.get(f"gid://shopify/BulkOperation/{number}")
        if op is None or op.path is None:
            return None, "NoSuchKey"
        return op.path, ""
