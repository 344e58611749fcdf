"""The data endpoints: lists, pages, sorting, filters, single rows, errors and roles."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from tests.support.shop_builders import BIG, cart, checkout, customer, deliver, order, product
from tests.support.webhooks import Sender

Get = Callable[..., Any]


@pytest.fixture
def shop(owner: dict[str, Any], client: FlaskClient) -> Sender:
    return Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])


@pytest.fixture
def get(api_client: FlaskClient, owner: dict[str, Any]) -> Get:
    """GET as the owner; returns (status, JSON body)."""

    def call(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        response = api_client.get(url, headers=headers or owner["headers"])
        return response.status_code, response.get_json()

    return call


def _all_pages(get: Get, url: str, cursor: str | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    sep = "&" if "?" in url else "?"
    for _ in range(100):
        status, body = get(f"{url}{sep}cursor={cursor}" if cursor else url)
        assert status == 200, body
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def _ids(items: list[dict[str, Any]], key: str = "id") -> list[str]:
    return [i[key] for i in items]


def _orders(shop: Sender, settings: Settings) -> None:
    deliver(
        shop,
        settings,
        ("customers/create", customer(BIG, email="Ada.Lovelace@Example.com")),
        ("customers/create", customer(BIG + 1, first="Grace", last="Hopper", email="gh@navy.mil")),
        ("customers/create", customer(BIG + 2, first="100%_real", last="Name")),
        ("orders/create", order(BIG + 10, total="12.50", at="2026-01-01T10:00:00Z",
                                customer_id=BIG, fulfillment_status="fulfilled")),
        ("orders/create", order(BIG + 11, total="99.99", at="2026-01-02T10:00:00Z",
                                customer_id=BIG, financial_status="pending",
                                processed_at=None)),
        ("orders/create", order(BIG + 12, total="5.00", at="2026-01-03T10:00:00Z",
                                customer_id=BIG + 1, fulfillment_status="partial",
                                processed_at="2026-01-05T00:00:00Z")),
        ("orders/create", order(BIG + 13, total="42.00", at="2026-01-04T10:00:00Z",
                                cancelled_at="2026-01-04T11:00:00Z", customer_id=BIG)),
        ("orders/create", order(BIG + 14, total="7.77", at="2026-01-05T10:00:00Z",
                                processed_at=None)),
        ("orders/create", order(BIG + 15, total="1.00", at="2026-01-06T10:00:00Z")),
    )  # fmt: skip
    deliver(shop, settings, ("orders/delete", {"id": BIG + 15}))


def test_orders_list_newest_first_with_line_items(
    shop: Sender, settings: Settings, get: Get
) -> None:
    _orders(shop, settings)
    status, body = get("/api/orders")
    assert status == 200
    assert _ids(body["items"]) == [str(BIG + n) for n in (14, 13, 12, 11, 10)]
    assert body["next_cursor"] is None
    first = body["items"][-1]
    assert first["id"] == "9007199254741003"  # exact, though past 2**53
    assert first["customer_id"] == str(BIG)
    assert first["total_price"] == "12.50"
    assert first["created_at"] == "2026-01-01T10:00:00+00:00"
    assert first["line_items"] == [
        {"id": str((BIG + 10) * 10 + 1), "product_id": "7001", "variant_id": "8001",
         "sku": "TEE-S", "title": "Tee", "vendor": None, "quantity": 1, "current_quantity": 1,
         "gift_card": None, "price": "12.50", "price_presentment": None, "total_discount": None,
         "discount_allocated": "0.00", "discount_allocated_presentment": "0.00", "tax": "0.00",
         "tax_presentment": "0.00", "duties": None, "duties_presentment": None},
    ]  # fmt: skip


def test_one_order_and_404s(
    shop: Sender, settings: Settings, get: Get, make_owner: Callable[..., Any]
) -> None:
    _orders(shop, settings)
    status, body = get(f"/api/orders/{BIG + 12}")
    assert status == 200
    assert body["id"] == str(BIG + 12)
    assert body["fulfillment_status"] == "partial"
    assert len(body["line_items"]) == 1
    stranger = make_owner()
    for url in (
        f"/api/orders/{BIG + 99}",  # unknown
        f"/api/orders/{BIG + 15}",  # deleted (tombstoned)
        "/api/orders/not-a-number",
        "/api/orders/99999999999999999999999",  # past bigint
        "/api/customers/-1",
        "/api/carts/nope",
    ):
        status, body = get(url)
        assert (status, body["error"]) == (404, "not_found"), url
    status, body = get(f"/api/orders/{BIG + 12}", headers=stranger["headers"])
    assert (status, body["error"]) == (404, "not_found")
    assert get("/api/orders", headers=stranger["headers"])[1]["items"] == []


def test_pages_are_stable_while_rows_arrive(shop: Sender, settings: Settings, get: Get) -> None:
    _orders(shop, settings)
    page1 = get("/api/orders?limit=2")[1]
    assert _ids(page1["items"]) == [str(BIG + 14), str(BIG + 13)]
    # A newer order (belongs before the cursor) and an older one (after it) arrive meanwhile.
    deliver(
        shop,
        settings,
        ("orders/create", order(BIG + 20, at="2026-02-01T00:00:00Z")),
        ("orders/create", order(BIG + 21, at="2025-12-01T00:00:00Z")),
    )
    rest = _all_pages(get, "/api/orders?limit=2", page1["next_cursor"])
    assert _ids(rest) == [str(BIG + n) for n in (12, 11, 10, 21)]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("created_at", [10, 11, 12, 13, 14]),
        ("-created_at", [14, 13, 12, 11, 10]),
        ("id", [10, 11, 12, 13, 14]),
        ("-id", [14, 13, 12, 11, 10]),
        # No processed_at sorts last ascending, first descending; the id breaks ties.
        ("processed_at", [10, 13, 12, 11, 14]),
        ("-processed_at", [14, 11, 12, 13, 10]),
    ],
)
def test_every_page_size_walks_the_same_order(
    shop: Sender, settings: Settings, get: Get, sort: str, expected: list[int]
) -> None:
    _orders(shop, settings)
    for limit in (1, 2, 250):
        items = _all_pages(get, f"/api/orders?sort={sort}&limit={limit}")
        assert _ids(items) == [str(BIG + n) for n in expected], (sort, limit)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("created_at_min=2026-01-02T10:00:00Z&created_at_max=2026-01-04", [12, 11]),
        ("created_at_min=2026-01-02T11:00:00%2B01:00", [14, 13, 12, 11]),
        ("processed_at_min=2026-01-04T00:00:00Z", [13, 12]),
        ("processed_at_max=2026-01-01T10:00:00Z", [10]),
        ("financial_status=pending", [11]),
        ("fulfillment_status=unfulfilled", [14, 13, 11]),
        ("fulfillment_status=partial", [12]),
        (f"customer_id={BIG}", [13, 11, 10]),
        (f"customer_id={BIG + 1}&financial_status=paid", [12]),
        ("updated_at_min=2030-01-01", []),
    ],
)
def test_order_filters(
    shop: Sender, settings: Settings, get: Get, query: str, expected: list[int]
) -> None:
    _orders(shop, settings)
    status, body = get(f"/api/orders?{query}")
    assert status == 200, body
    assert _ids(body["items"]) == [str(BIG + n) for n in expected]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("ada", [BIG]),
        ("LOVELACE", [BIG]),
        ("grace hopper", [BIG + 1]),
        ("navy.MIL", [BIG + 1]),
        ("100%_", [BIG + 2]),
        ("%", [BIG + 2]),
        ("_", [BIG + 2]),
        ("nobody", []),
    ],
)
def test_customer_search(
    shop: Sender, settings: Settings, get: Get, q: str, expected: list[int]
) -> None:
    _orders(shop, settings)
    body = get(f"/api/customers?sort=-id&q={q.replace('%', '%25')}")[1]
    assert _ids(body["items"]) == [str(i) for i in expected]


def test_customers_carry_order_count_and_total_spent(
    shop: Sender, settings: Settings, get: Get
) -> None:
    _orders(shop, settings)
    items = {c["id"]: c for c in get("/api/customers")[1]["items"]}
    # Ada: 12.50 + 99.99, and a cancelled 42.00 that counts as an order but not as spent.
    assert (items[str(BIG)]["orders_count"], items[str(BIG)]["total_spent"]) == (3, "112.49")
    assert (items[str(BIG + 1)]["orders_count"], items[str(BIG + 1)]["total_spent"]) == (1, "5.00")
    assert (items[str(BIG + 2)]["orders_count"], items[str(BIG + 2)]["total_spent"]) == (0, "0.00")
    assert items[str(BIG)]["email"] == "Ada.Lovelace@Example.com"
    assert get(f"/api/customers/{BIG + 1}")[1]["last_name"] == "Hopper"


def test_products_filters_and_variants(shop: Sender, settings: Settings, get: Get) -> None:
    deliver(
        shop,
        settings,
        ("products/create", product(1, title="Tee", vendor="Acme", prices=("19.99", "17.5"))),
        ("products/create", product(2, title="Mug", vendor="acme", product_type="Kitchen")),
        ("products/create", product(3, title="Old", vendor="Other", status="archived")),
    )
    assert _ids(get("/api/products?vendor=ACME&sort=id")[1]["items"]) == ["1", "2"]
    assert _ids(get("/api/products?product_type=kitchen")[1]["items"]) == ["2"]
    assert _ids(get("/api/products?status=archived")[1]["items"]) == ["3"]
    assert _ids(get("/api/products?sort=title")[1]["items"]) == ["2", "3", "1"]
    tee = get("/api/products/1")[1]
    assert tee["price"] == "17.50"
    assert [(v["id"], v["price"]) for v in tee["variants"]] == [("10", "19.99"), ("11", "17.50")]


def test_checkouts_and_carts(shop: Sender, settings: Settings, get: Get) -> None:
    deliver(
        shop,
        settings,
        ("carts/create", cart("cart-a", at="2026-01-01T10:00:00Z")),
        ("carts/create", cart("cart-b", at="2026-01-02T10:00:00Z", lines=("1.10", "2.20"))),
        ("checkouts/create", checkout("chk-a", at="2026-01-01T11:00:00Z", cart_token="cart-a")),
        ("checkouts/create", checkout("chk-b", at="2026-01-03T11:00:00Z", total="8.00")),
        ("orders/create", order(77, at="2026-01-03T12:00:00Z", checkout_token="chk-b")),
    )
    assert _ids(get("/api/checkouts")[1]["items"], "token") == ["chk-b", "chk-a"]
    assert _ids(get("/api/checkouts?status=completed")[1]["items"], "token") == ["chk-b"]
    assert _ids(get("/api/checkouts?status=open")[1]["items"], "token") == ["chk-a"]
    query = "created_at_max=2026-01-02T00:00:00Z"
    assert _ids(get(f"/api/checkouts?{query}")[1]["items"], "token") == ["chk-a"]
    assert _ids(get("/api/carts?status=converted")[1]["items"], "token") == ["cart-a"]
    assert _ids(get("/api/carts?status=open")[1]["items"], "token") == ["cart-b"]
    assert _ids(get("/api/carts?sort=created_at")[1]["items"], "token") == ["cart-a", "cart-b"]
    status, chk = get("/api/checkouts/chk-b")
    assert (status, chk["status"], chk["total_price"]) == (200, "completed", "8.00")
    assert get("/api/carts/cart-b")[1]["total_price"] == "3.30"


def _cursor(doc: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/orders?limit=0", "limit"),
        ("/api/orders?limit=251", "limit"),
        ("/api/orders?limit=ten", "limit"),
        ("/api/orders?sort=payload", "sort"),
        ("/api/orders?sort=total_price", "sort"),
        ("/api/orders?sort=--created_at", "sort"),
        ("/api/orders?cursor=%25%25%25", "cursor"),
        ("/api/orders?cursor=bm90IGpzb24", "cursor"),
        ("/api/orders?cursor=" + _cursor({"s": "created_at", "v": None, "k": "1"}), "cursor"),
        ("/api/orders?cursor=" + _cursor({"s": "-created_at", "v": "soon", "k": "1"}), "cursor"),
        (
            "/api/products?sort=price&cursor=" + _cursor({"s": "price", "v": "1E+9999", "k": "1"}),
            "cursor",
        ),
        ("/api/orders?cursor=" + _cursor({"s": "-created_at", "v": None, "k": "x"}), "cursor"),
        ("/api/carts?cursor=" + _cursor({"s": "-created_at", "v": None, "k": "\u0000"}), "cursor"),
        ("/api/orders?created_at_min=2026-02-01&created_at_max=2026-01-01", "created_at_max"),
        ("/api/orders?processed_at_min=last+week", "processed_at_min"),
        ("/api/orders?customer_id=abc", "customer_id"),
        ("/api/orders?customer_id=99999999999999999999", "customer_id"),
        ("/api/orders?financial_status=lost", "financial_status"),
        ("/api/checkouts?status=converted", "status"),
        ("/api/carts?status=recovered", "status"),
        ("/api/products?status=gone", "status"),
        ("/api/products?vendor=", "vendor"),
        ("/api/customers?q=", "q"),
        ("/api/customers?q=" + "x" * 201, "q"),
    ],
)
def test_bad_arguments_answer_400_per_field(get: Get, url: str, field: str) -> None:
    status, body = get(url)
    assert status == 400, body
    assert body["error"] == "invalid_request"
    assert field in body["fields"], body


@pytest.mark.parametrize(
    "url", ["/api/customers?q=a%00b", "/api/products?vendor=%00", "/api/insights?tz=UTC%00"]
)
def test_nul_characters_answer_400(get: Get, url: str) -> None:
    status, body = get(url)
    assert (status, body["error"]) == (400, "invalid_request")


@pytest.mark.parametrize("resource", ["customers", "products", "orders", "checkouts", "carts"])
def test_every_role_reads_and_strangers_do_not(
    api_client: FlaskClient, make_user: Callable[..., Any], resource: str
) -> None:
    for role in ("analyst", "admin"):
        response = api_client.get(f"/api/{resource}", headers=make_user(role)["headers"])
        assert response.status_code == 200
        assert response.get_json() == {"items": [], "next_cursor": None}
    assert api_client.get(f"/api/{resource}").status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert api_client.get(f"/api/{resource}/1", headers=bad).status_code == 401
