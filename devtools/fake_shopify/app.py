"""The fake Admin API as a Flask app, and a helper that serves it from a thread."""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request, send_file
from werkzeug.serving import WSGIRequestHandler, make_server

from devtools.fake_shopify import graphql
from devtools.fake_shopify.bulk import BulkOperations
from devtools.fake_shopify.oauth import FakeOAuth, install_oauth_routes
from devtools.fake_shopify.resolvers import ExecutionError, Executor
from devtools.fake_shopify.store import PLANS, ShopData
from devtools.fake_shopify.throttle import MAX_SINGLE_QUERY_COST, LeakyBucket

_VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
# Shopify's answer to a bad token (a message, not a credential).
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"  # noqa: S105
_GCS_ERROR = (
    "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
    "<Message>{message}</Message></Error>"
)
_GCS_MESSAGES = {
    "ExpiredToken": "Invalid argument. Request has expired.",
    "SignatureDoesNotMatch": "Access denied. The request signature does not match.",
    "InvalidArgument": "Invalid argument.",
    "NoSuchKey": "The specified key does not exist.",
}


class FakeShopify:
    """Shops (found by access token), their buckets and their bulk operations."""

    def __init__(self, bulk_dir: Path | None = None) -> None:
        self.shops: dict[str, ShopData] = {}
        self.buckets: dict[str, LeakyBucket] = {}
        self.bulk = BulkOperations(bulk_dir)
        self.oauth = FakeOAuth()

    def add_shop(
        self, domain: str, *, token: str | None = None, plan: str = "standard", **options: Any
    ) -> ShopData:
        """Register a shop; `options` override ShopData fields (bucket_size, restore_rate...)."""
        size, rate = PLANS[plan]
        shop = ShopData(
            domain=domain,
            token=token or f"shpat_{secrets.token_hex(16)}",
            bucket_size=size,
            restore_rate=rate,
        )
        for name, value in options.items():
            setattr(shop, name, value)
        self.shops[shop.token] = shop
        self.buckets[shop.domain] = LeakyBucket(shop.bucket_size, shop.restore_rate)
        return shop

    def bucket(self, shop: ShopData) -> LeakyBucket:
        return self.buckets[shop.domain]

    def shop(self, domain: str) -> ShopData:
        return next(s for s in self.shops.values() if s.domain == domain)


def _errors(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}


def create_app(fake: FakeShopify) -> Flask:
    """The fake's HTTP surface: GraphQL Admin API and the bulk result downloads."""
    app = Flask(__name__)

    @app.post("/admin/api/<version>/graphql.json")
    def graphql_endpoint(version: str) -> tuple[Response, int]:
        if not _VERSION.match(version):
            return jsonify(errors="Not Found"), 404
        shop = fake.shops.get(request.headers.get("X-Shopify-Access-Token", ""))
        if shop is None:
            return jsonify(errors=INVALID_TOKEN), 401
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return jsonify(errors={"query": "Required parameter missing or invalid"}), 400
        variables = body.get("variables") or {}
        try:
            operation = graphql.parse(
                body["query"], variables if isinstance(variables, dict) else {}
            )
        except graphql.GraphQLSyntaxError as exc:
            return jsonify(_errors(str(exc), "PARSE_ERROR")), 200
        return jsonify(_execute(fake, shop, version, operation)), 200

    @app.post("/shops/<domain>/admin/api/<version>/graphql.json")
    def shop_graphql_endpoint(domain: str, version: str) -> tuple[Response, int]:
        # The shop's own host: a token of another shop is refused, as Shopify refuses it.
        shop = fake.shops.get(request.headers.get("X-Shopify-Access-Token", ""))
        if shop is None or shop.domain != domain:
            return jsonify(errors=INVALID_TOKEN), 401
        return graphql_endpoint(version)

    install_oauth_routes(app, fake.oauth, fake.shops)

    @app.get("/bulk-results/<number>.jsonl")
    def bulk_result(number: str) -> Response:
        path, code = fake.bulk.result_path(
            number, request.args.get("Expires", ""), request.args.get("Signature", "")
        )
        if path is None:
            status = 404 if code == "NoSuchKey" else 400 if code == "InvalidArgument" else 403
            body = _GCS_ERROR.format(code=code, message=_GCS_MESSAGES[code])
            return Response(body, status=status, mimetype="application/xml")
        return send_file(path, mimetype="application/jsonl", conditional=False)

    @app.get("/_fake/shops/<domain>/bucket-log")
    def bucket_log(domain: str) -> Response:
        bucket = fake.buckets.get(domain)
        if bucket is None:
            return Response(status=404)
        return jsonify([vars(e) for e in bucket.log])

    return app


def _execute(
    fake: FakeShopify, shop: ShopData, version: str, operation: graphql.Operation
) -> dict[str, Any]:
    bucket = fake.bucket(shop)
    requested = graphql.requested_cost(operation)

    def cost(actual: int | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": bucket.status(),
            }
        }

    if requested > MAX_SINGLE_QUERY_COST:
        message = (
            f"Query cost is {requested}, which exceeds the single query max cost limit "
            f"({MAX_SINGLE_QUERY_COST}). See https://shopify.dev/concepts/about-apis/rate-limits "
            "for more information on how the cost of a query is calculated."
        )
        return {
            **_errors(message, "MAX_COST_EXCEEDED", cost=requested, maxCost=MAX_SINGLE_QUERY_COST),
            "extensions": cost(None),
        }
    before = bucket.reserve(requested)
    if before is None:
        throttled = _errors(
            "Throttled", "THROTTLED", documentation="https://shopify.dev/api/usage/rate-limits"
        )
        return {**throttled, "extensions": cost(None)}
    executor = Executor(shop, fake.bulk, version, request.host_url)
    try:
        data = executor.run(operation)
    except ExecutionError as exc:
        bucket.settle(requested, 1, before)
        return {**_errors(str(exc), exc.code), "extensions": cost(1)}
    # The requested cost is the most a query can be charged; a list's length is not known up
    # front, so its items may resolve more objects than were priced for it.
    actual = requested if operation.kind == "mutation" else min(requested, executor.cost)
    bucket.settle(requested, actual, before)
    return {"data": data, "extensions": cost(actual)}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are not logged; the bucket log records what matters."""


class ServerThread:
    """The fake served by werkzeug from a background thread (tests, `cartwheel fake-shopify`)."""

    def __init__(self, fake: FakeShopify, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self.server = make_server(
            host, port, create_app(fake), threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@contextmanager
def serve(fake: FakeShopify, host: str = "127.0.0.1", port: int = 0) -> Iterator[ServerThread]:
    """Serve the fake for the duration of a with-block."""
    server = ServerThread(fake, host, port).start()
    try:
        yield server
    finally:
        server.stop()
