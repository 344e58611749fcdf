"""The fake Admin API behaves as Shopify documents: cost, throttle, pagination, bulk operations."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import select
from werkzeug.serving import make_server

import resources
from core.settings import Settings
from devtools.fake_shopify import ServerThread, ShopData
from devtools.fake_shopify.graphql import parse, requested_cost
from models import WebhookEvent
from models.db import session_scope
from receiver import create_app as create_receiver
from resources import fulfillments, refunds
from resources.graphql import bulk_query, items_query, page_query, single_query
from shops.syncs import start_run
from tests.support.pipeline import drain_all
from workers.runtime import Resources
from workers.sync.backfill import run_backfill

BULK = (
    'mutation { bulkOperationRunQuery(query: """{ orders { edges { node { id '
    'lineItems { edges { node { id quantity } } } } } } }""") '
    "{ bulkOperation { id status } userErrors { field message code } } }"
)


class Api:
    def __init__(self, server: ServerThread, shop: ShopData) -> None:
        self.url = f"{server.url}/admin/api/2026-07/graphql.json"
        self.shop = shop

    def post(self, query: str, token: str | None = None, **variables: Any) -> Any:
        response = requests.post(
            self.url,
            json={"query": query, "variables": variables},
            headers={"X-Shopify-Access-Token": token or self.shop.token},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        return response.json()

    def bulk(self, op_id: str) -> dict[str, Any]:
        query = (
            "query($id: ID!) { bulkOperation(id: $id) { id status errorCode objectCount "
            "rootObjectCount fileSize url partialDataUrl } }"
        )
        return dict(self.post(query, id=op_id)["data"]["bulkOperation"])

    def wait(self, op_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            op = self.bulk(op_id)
            if op["status"] not in ("CREATED", "RUNNING"):
                return op
            time.sleep(0.05)
        raise AssertionError("bulk operation never finished")


@pytest.fixture
def api(fake_admin: ServerThread) -> Api:
    shop = fake_admin.fake.add_shop("fake-test.myshopify.com", plan="standard")
    shop.seed(orders=120, customers=30, products=10)
    return Api(fake_admin, shop)


def test_cost_is_priced_by_page_size_and_charged_by_results(api: Api) -> None:
    query = (
        "{ customers(first: 50) { edges { node { id defaultEmailAddress { emailAddress } } } } }"
    )
    body = api.post(query)
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 50 * 2 == requested_cost(parse(query))
    assert cost["actualQueryCost"] == 2 + 30 * 2  # only 30 customers exist
    status = cost["throttleStatus"]
    assert status["maximumAvailable"] == 2000.0 and status["restoreRate"] == 100.0
    assert 2000 - 62 <= status["currentlyAvailable"] <= 2000
    assert requested_cost(parse(BULK)) == 10


def test_auth_version_and_errors_answer_like_shopify(api: Api) -> None:
    bad = requests.post(
        api.url,
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": "nope"},
        timeout=10,
    )
    assert bad.status_code == 401 and "Invalid API key or access token" in bad.json()["errors"]
    wrong = requests.post(
        api.url.replace("2026-07", "v1"),
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": api.shop.token},
        timeout=10,
    )
    assert wrong.status_code == 404
    unknown = api.post("{ orders(first: 1) { edges { node { id color } } } }")
    assert "doesn't exist on type 'Order'" in unknown["errors"][0]["message"]
    huge = api.post(
        "{ orders(first: 250) { edges { node { id lineItems(first: 250) "
        "{ edges { node { id } } } } } } }"
    )
    assert huge["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "data" not in huge


def test_a_request_the_bucket_cannot_pay_is_throttled(fake_admin: ServerThread) -> None:
    shop = fake_admin.fake.add_shop("tiny.myshopify.com", bucket_size=100, restore_rate=1.0)
    shop.seed(orders=45, customers=2, products=1)
    api = Api(fake_admin, shop)
    query = "{ orders(first: 40) { edges { node { id customer { id } } } } }"  # costs 82
    first = api.post(query)
    assert first["extensions"]["cost"]["requestedQueryCost"] == 82 and "data" in first
    second = api.post(query)
    assert "data" not in second
    assert second["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    assert second["extensions"]["cost"]["actualQueryCost"] is None
    log = fake_admin.fake.bucket(shop).log
    assert [e.throttled for e in log] == [False, True]
    assert log[1].available < 82


def test_cursor_pages_filter_by_updated_at_and_cover_everything_once(api: Api) -> None:
    cut = datetime.now(UTC) - timedelta(days=12)
    wanted = {
        n["id"]
        for n in api.shop.listing("Order")
        if datetime.fromisoformat(n["updatedAt"].replace("Z", "+00:00")) >= cut
    }
    search = f"updated_at:>='{cut.replace(microsecond=0).isoformat().replace('+00:00', 'Z')}'"
    query = (
        "query($after: String, $q: String) { orders(first: 25, after: $after, query: $q, "
        "sortKey: UPDATED_AT) { pageInfo { hasNextPage endCursor } "
        "edges { node { id updatedAt } } } }"
    )
    seen: list[tuple[str, str]] = []
    after = None
    while True:
        page = api.post(query, after=after, q=search)["data"]["orders"]
        seen += [(e["node"]["updatedAt"], e["node"]["id"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert {i for _, i in seen} == wanted and len(seen) == len(wanted) > 25
    assert [u for u, _ in seen] == sorted(u for u, _ in seen)


def test_bulk_operation_lifecycle_and_jsonl(fake_admin: ServerThread) -> None:
    shop = fake_admin.fake.add_shop("bulk.myshopify.com", bulk_concurrency=1)
    shop.seed(orders=60, customers=10, products=5)
    api = Api(fake_admin, shop)
    started = api.post(BULK)["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == [] and started["bulkOperation"]["status"] == "CREATED"
    busy = api.post(BULK)["data"]["bulkOperationRunQuery"]
    assert busy["bulkOperation"] is None
    assert busy["userErrors"][0]["message"] == "A bulk query operation is already running."
    op = api.wait(started["bulkOperation"]["id"])
    current = api.post("{ currentBulkOperation { id status } }")["data"]["currentBulkOperation"]
    assert current == {"id": op["id"], "status": "COMPLETED"}
    lines = [json.loads(line) for line in requests.get(op["url"], timeout=10).text.splitlines()]
    items = sum(len(n["lineItems"]) for n in shop.listing("Order"))
    assert int(op["objectCount"]) == len(lines) == 60 + items
    assert int(op["rootObjectCount"]) == 60
    roots = {line["id"]: i for i, line in enumerate(lines) if "__parentId" not in line}
    children = [(i, line) for i, line in enumerate(lines) if "__parentId" in line]
    assert all(
        line["__parentId"] in roots and roots[line["__parentId"]] < i for i, line in children
    )
    previous_root = {i: max(r for r in roots.values() if r < i) for i, _ in children}
    detached = [i for i, line in children if previous_root[i] != roots[line["__parentId"]]]
    assert detached, "some children must not follow their parent"
    assert "__parentId" in lines[-1]  # some children wait until the very end


def test_result_urls_expire_like_signed_gcs_urls(api: Api, fake_admin: ServerThread) -> None:
    op_id = api.post(BULK)["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
    fake_admin.fake.bulk.settings.url_ttl = -1
    expired = requests.get(api.wait(op_id)["url"], timeout=10)
    assert expired.status_code == 403 and "<Code>ExpiredToken</Code>" in expired.text
    fake_admin.fake.bulk.settings.url_ttl = 3600
    fresh = requests.get(api.bulk(op_id)["url"], timeout=10)
    assert fresh.status_code == 200 and fresh.text.count("\n") > 120
    tampered = requests.get(api.bulk(op_id)["url"][:-4] + "beef", timeout=10)
    assert tampered.status_code == 403


def test_a_failed_bulk_operation_reports_its_error_and_partial_data(
    api: Api, fake_admin: ServerThread
) -> None:
    fake_admin.fake.bulk.settings.fail_next[api.shop.domain] = "INTERNAL_SERVER_ERROR"
    op_id = api.post(BULK)["data"]["bulkOperationRunQuery"]["bulkOperation"]["id"]
    op = api.wait(op_id)
    assert op["status"] == "FAILED" and op["errorCode"] == "INTERNAL_SERVER_ERROR"
    assert op["url"] is None and op["partialDataUrl"]


def test_an_invalid_bulk_query_is_a_user_error(api: Api) -> None:
    query = (
        'mutation { bulkOperationRunQuery(query: "{ shop { name } }") '
        "{ bulkOperation { id } userErrors { message } } }"
    )
    result = api.post(query)["data"]["bulkOperationRunQuery"]
    assert result["bulkOperation"] is None
    assert "at least one connection" in result["userErrors"][0]["message"]


@pytest.fixture
def receiver_url(settings: Settings) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, create_receiver(settings), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_the_finish_webhook_ends_a_backfill_s_wait(
    settings: Settings, wire_shop: Any, receiver_url: str
) -> None:
    wired = wire_shop()
    wired.shop.webhook_url, wired.shop.webhook_secret = f"{receiver_url}/webhooks", wired.secret
    wired.shop.seed(orders=30, customers=5, products=2)
    # Polling alone would not look again for ten minutes.
    slow = settings.with_overrides(bulk_poll_interval=600.0)
    with session_scope(settings.database_url) as session:
        run, _ = start_run(session, tenant_id=wired.tenant_id, resources=["orders"], since=None)
    outcome: dict[str, Any] = {}

    def backfill() -> None:
        outcome["summary"] = run_backfill(Resources(slow), tenant_id=wired.tenant_id, run_id=run.id)

    worker = threading.Thread(target=backfill)
    worker.start()
    deadline = time.monotonic() + 60
    while worker.is_alive() and time.monotonic() < deadline:
        drain_all(settings)
        time.sleep(0.1)
    worker.join(timeout=5)
    assert outcome["summary"]["orders"]["seen"] == 30
    with session_scope(settings.database_url) as s:
        [event] = s.scalars(
            select(WebhookEvent).where(WebhookEvent.topic == "bulk_operations/finish")
        )
    [op] = wired.fake.bulk.ops.values()
    assert event.payload["admin_graphql_api_id"] == op.id and event.payload["status"] == "completed"


@pytest.fixture
def money_api(fake_admin: ServerThread) -> tuple[Api, dict[str, dict[str, Any]]]:
    shop = fake_admin.fake.add_shop("money.myshopify.com", plan="plus")
    shop.seed(orders=12, customers=4, products=3)
    return Api(fake_admin, shop), shop.seed_refund_cases()


def _amounts(bag: dict[str, Any]) -> tuple[Decimal, Decimal, str]:
    presentment = bag["presentmentMoney"]
    return (
        Decimal(bag["shopMoney"]["amount"]),
        Decimal(presentment["amount"]),
        presentment["currencyCode"],
    )


def test_inline_fragments_apply_only_to_nodes_of_their_type(
    money_api: tuple[Api, dict[str, dict[str, Any]]],
) -> None:
    api, cases = money_api
    order = cases["partial"]
    query = (
        "query($id: ID!) { node(id: $id) { __typename ... on Product { title } "
        "... on Order { name lineItems(first: 1) { edges { node { id } } } } } }"
    )
    body = api.post(query, id=order["id"])
    assert body["data"]["node"] == {
        "__typename": "Order",
        "name": order["name"],
        "lineItems": {"edges": [{"node": {"id": order["lineItems"][0]["id"]}}]},
    }
    # The dearest fragment is priced, not both: 1 (node) + 2 + 1 x 1 (lineItems).
    assert body["extensions"]["cost"]["requestedQueryCost"] == 4
    wrong = api.post("query($id: ID!) { product(id: $id) { id } }", id=order["id"])
    assert wrong["data"]["product"] is None


def test_nodes_by_ids_read_refunds_and_fulfillments_with_their_connections(
    money_api: tuple[Api, dict[str, dict[str, Any]]],
) -> None:
    api, cases = money_api
    refund = cases["partial"]["refunds"][0]
    fulfillment = cases["shipped"]["fulfillments"][0]
    ids = [refund["id"], fulfillment["id"], "gid://shopify/Refund/1"]
    body = api.post(items_query(refunds.NESTED), ids=ids)
    got, other, missing = body["data"]["nodes"]
    assert other == {} and missing is None  # the Fulfillment matches no fragment
    [line] = [e["node"] for e in got["refundLineItems"]["edges"]]
    assert (line["quantity"], line["restockType"]) == (1, "RETURN")
    assert _amounts(line["subtotalSet"]) == (Decimal("37.50"), Decimal("33.75"), "EUR")
    [shipping] = [e["node"] for e in got["refundShippingLines"]["edges"]]
    assert _amounts(shipping["subtotalAmountSet"])[0] == Decimal("10.00")
    [adjustment] = [e["node"] for e in got["orderAdjustments"]["edges"]]
    assert adjustment["reason"] == "REFUND_DISCREPANCY"
    assert _amounts(adjustment["amountSet"])[0] == Decimal("-2.00")
    [paid] = [e["node"] for e in got["transactions"]["edges"]]
    assert paid["id"] == refund["transactions"][0]["id"]
    assert body["extensions"]["cost"]["requestedQueryCost"] == requested_cost(
        parse(items_query(refunds.NESTED), {"ids": ids})
    )
    shipped = api.post(items_query(fulfillments.NESTED), ids=[fulfillment["id"]])
    [lines] = [n["fulfillmentLineItems"]["edges"] for n in shipped["data"]["nodes"]]
    assert [e["node"]["quantity"] for e in lines] == [1]
    cheap = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
    too_many = api.post(cheap, ids=[fulfillment["id"]] * 251)
    assert "maximum allowed of 250" in too_many["errors"][0]["message"]


def test_a_refunded_order_adds_up_in_shop_and_presentment_money(
    money_api: tuple[Api, dict[str, dict[str, Any]]],
) -> None:
    api, cases = money_api
    pull = resources.get("orders").pull
    assert pull is not None
    order = api.post(single_query(pull), id=cases["partial"]["id"])["data"]["order"]
    assert order["presentmentCurrencyCode"] == "EUR" and order["currencyCode"] == "USD"
    assert order["displayFinancialStatus"] == "PARTIALLY_REFUNDED"
    assert order["discountCodes"] == ["SAVE5"]
    total = _amounts(order["totalPriceSet"])
    parts = [order[f] for f in ("subtotalPriceSet", "totalShippingPriceSet", "totalTaxSet")]
    assert total[:2] == tuple(sum(_amounts(p)[i] for p in parts) for i in (0, 1))
    assert total == (Decimal("118.80"), Decimal("106.92"), "EUR")
    [refund] = order["refunds"]
    assert _amounts(refund["totalRefundedSet"])[0] == Decimal("49.30")  # 37.50 + 3 + 10.80 - 2
    assert [t["kind"] for t in order["transactions"]] == ["SALE", "REFUND"]
    assert _amounts(order["currentTotalPriceSet"])[0] == Decimal("69.50")
    later = cases["later_month"]
    assert later["refunds"][0]["createdAt"][:7] != later["createdAt"][:7]
    assert later["displayFinancialStatus"] == "REFUNDED"
    assert cases["shipped"]["displayFulfillmentStatus"] == "FULFILLED"


def test_inventory_items_page_without_a_sort_key(fake_admin: ServerThread) -> None:
    shop = fake_admin.fake.add_shop("stock.myshopify.com")
    shop.seed(orders=0, customers=1, products=3, inventory=True)
    item = shop.add_inventory_item(sku="LOOSE", cost=Decimal("3.25"), levels={0: 5, 1: 7})
    shop.set_available(item["id"], 9, location=1)
    api = Api(fake_admin, shop)
    pull = resources.get("inventory_items").pull
    assert pull is not None
    page = api.post(page_query(pull), first=25)["data"]["inventoryItems"]
    nodes = [e["node"] for e in page["edges"]]
    variants = [v for p in shop.listing("Product") for v in p["variants"]]
    assert len(nodes) == len(variants) + 1 and not page["pageInfo"]["hasNextPage"]
    loose = nodes[-1]
    assert loose["unitCost"] == {"amount": "3.25", "currencyCode": "USD"}
    levels = [e["node"] for e in loose["inventoryLevels"]["edges"]]
    assert [lv["quantities"] for lv in levels] == [
        [{"name": "available", "quantity": 5}],
        [{"name": "available", "quantity": 9}],
    ]
    sorted_ = api.post("{ inventoryItems(first: 5, sortKey: ID) { edges { node { id } } } }")
    assert "doesn't accept argument 'sortKey'" in sorted_["errors"][0]["message"]
    one = api.post(single_query(pull), id=item["id"])["data"]["inventoryItem"]
    assert one["sku"] == "LOOSE"


def test_bulk_lines_name_their_type_for_each_connection(
    money_api: tuple[Api, dict[str, dict[str, Any]]],
) -> None:
    api, cases = money_api
    pull = resources.get("orders").pull
    assert pull is not None
    run = "mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } "
    run += "userErrors { message } } }"
    started = api.post(run, q=bulk_query(pull, None))["data"]["bulkOperationRunQuery"]
    assert started["userErrors"] == []
    op = api.wait(started["bulkOperation"]["id"])
    lines = [json.loads(x) for x in requests.get(op["url"], timeout=10).text.splitlines()]
    roots = {line["id"]: line for line in lines if "__parentId" not in line}
    children = [line for line in lines if "__parentId" in line]
    assert {c["__typename"] for c in children} == {"LineItem", "ShippingLine"}
    assert all(c["__parentId"] in roots for c in children)
    partial = cases["partial"]
    shipping = [c for c in children if c["__parentId"] == partial["id"] and "code" in c]
    assert [s["__typename"] for s in shipping] == ["ShippingLine"]
    assert "lineItems" not in roots[partial["id"]]
    assert roots[partial["id"]]["refunds"][0]["note"] == "Damaged"  # a list stays in its line
    assert int(op["objectCount"]) == len(lines)


def test_a_bulk_query_with_a_connection_inside_a_list_is_refused(api: Api) -> None:
    inner = "{ orders { edges { node { id refunds { id refundLineItems "
    inner += "{ edges { node { id } } } } } } } }"
    run = "mutation($q: String!) { bulkOperationRunQuery(query: $q) { bulkOperation { id } "
    run += "userErrors { field message code } } }"
    result = api.post(run, q=inner)["data"]["bulkOperationRunQuery"]
    assert result["bulkOperation"] is None
    assert result["userErrors"] == [
        {
            "field": ["query"],
            "message": "Queries that contain a connection field within a list field are not "
            "currently supported.",
            "code": "INVALID",
        }
    ]
    unknown = api.post(run, q="{ orders { edges { node { id color } } } }")
    assert (
        "doesn't exist on type 'Order'"
        in unknown["data"]["bulkOperationRunQuery"]["userErrors"][0]["message"]
    )
