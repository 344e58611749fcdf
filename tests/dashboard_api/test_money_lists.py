"""The money endpoints: refunds, transactions, fulfillments, inventory, and orders' money parts.

Everything is delivered as Shopify webhooks (its 2026-04 samples, and variants of them) through
the receiver and the drain, then read back through the dashboard API.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask.testing import FlaskClient

from core.settings import Settings
from tests.support.samples import sample_json
from tests.support.shop_builders import deliver
from tests.support.webhooks import Sender

Get = Callable[..., Any]

ORDER = 820982911946154508  # the samples' order
EURO_ORDER = 5001
R1, R2, R3 = 890088186047892319, 2001, 2002
T1, T2, T3 = 120560818172775265, 245135271310201194, 839212141605670573
F1, F2, F3 = 123456, 123457, 123458
ITEM, MUG, GONE = 271878346596884015, 9001, 9002
SAMPLE_LOCATION = 24826418


def money(shop: str, presentment: str) -> dict[str, Any]:
    """A Shopify money set: the shop's USD and the buyer's EUR."""
    return {
        "shop_money": {"amount": shop, "currency_code": "USD"},
        "presentment_money": {"amount": presentment, "currency_code": "EUR"},
    }


def _vat(shop: str, presentment: str) -> dict[str, Any]:
    return {"title": "VAT", "rate": 0.2, "price": shop, "price_set": money(shop, presentment)}


def euro_refund() -> dict[str, Any]:
    """Goods, shipping and a duty refunded, less a discrepancy; paid back in full (EUR)."""
    at = "2026-01-03T10:00:00Z"
    return {
        "id": R2,
        "order_id": EURO_ORDER,
        "note": "Too small",
        "restock": True,
        "created_at": at,
        "processed_at": at,
        "refund_line_items": [
            {
                "id": 2101,
                "line_item_id": 51,
                "quantity": 1,
                "restock_type": "return",
                "location_id": 100,
                "subtotal": 17.5,
                "subtotal_set": money("17.50", "16.10"),
                "total_tax": 3.5,
                "total_tax_set": money("3.50", "3.22"),
                "line_item": {"gift_card": False, "price": "20.00"},
            }
        ],
        "refund_shipping_lines": [
            {
                "id": 2201,
                "shipping_line_id": 71,
                "subtotal_amount_set": money("5.00", "4.60"),
                "tax_amount_set": money("1.00", "0.92"),
            }
        ],
        "order_adjustments": [
            {
                "id": 2301,
                "kind": "refund_discrepancy",
                "reason": "Refund discrepancy",
                "amount": "1.00",
                "amount_set": money("1.00", "0.92"),
                "tax_amount": "0.00",
                "tax_amount_set": money("0.00", "0.00"),
            }
        ],
        "duties": [{"duty_id": "61", "amount_set": money("1.50", "1.38")}],
        "transactions": [
            {
                "id": 2401,
                "order_id": EURO_ORDER,
                "kind": "refund",
                "status": "success",
                "gateway": "shopify_payments",
                "amount": "25.30",
                "currency": "EUR",
                "created_at": at,
                "processed_at": at,
            }
        ],
    }


def euro_order() -> dict[str, Any]:
    """An order in USD paid in EUR, with every money part, and its refund inside."""
    at = "2026-01-02T09:00:00Z"
    line = {"product_id": 7001, "variant_id": 8001, "sku": "TEE", "title": "Tee"}
    return {
        "id": EURO_ORDER,
        "name": "#5001",
        "order_number": 5001,
        "email": "euro@example.com",
        "currency": "USD",
        "presentment_currency": "EUR",
        "taxes_included": False,
        "financial_status": "partially_refunded",
        "created_at": at,
        "updated_at": at,
        "processed_at": at,
        "total_line_items_price": "50.00",
        "total_line_items_price_set": money("50.00", "46.00"),
        "total_discounts": "5.00",
        "total_discounts_set": money("5.00", "4.60"),
        "subtotal_price": "45.00",
        "subtotal_price_set": money("45.00", "41.40"),
        "total_shipping_price_set": money("5.00", "4.60"),
        "total_tax": "8.00",
        "total_tax_set": money("8.00", "7.36"),
        "original_total_duties_set": money("1.50", "1.38"),
        "total_tip_received": "2.50",
        "total_price": "62.00",
        "total_price_set": money("62.00", "57.04"),
        "current_total_price": "34.50",
        "line_items": [
            line
            | {
                "id": 51,
                "vendor": "Acme",
                "quantity": 2,
                "current_quantity": 1,
                "gift_card": False,
                "price": "20.00",
                "price_set": money("20.00", "18.40"),
                "total_discount": "0.00",
                "discount_allocations": [
                    {
                        "amount": "5.00",
                        "amount_set": money("5.00", "4.60"),
                        "discount_application_index": 0,
                    }
                ],
                "tax_lines": [_vat("7.00", "6.44")],
                "duties": [
                    {
                        "id": "61",
                        "harmonized_system_code": "610910",
                        "country_code_of_origin": "PT",
                        "shop_money": {"amount": "1.50", "currency_code": "USD"},
                        "presentment_money": {"amount": "1.38", "currency_code": "EUR"},
                    }
                ],
            },
            line
            | {
                "id": 52,
                "sku": "CARD",
                "title": "Gift card",
                "quantity": 1,
                "gift_card": True,
                "price": "10.00",
                "price_set": money("10.00", "9.20"),
            },
        ],
        "shipping_lines": [
            {
                "id": 71,
                "title": "Standard",
                "code": "STD",
                "source": "shopify",
                "price": "5.00",
                "price_set": money("5.00", "4.60"),
                "discounted_price": "5.00",
                "discounted_price_set": money("5.00", "4.60"),
                "tax_lines": [_vat("1.00", "0.92")],
                "is_removed": False,
            }
        ],
        "discount_applications": [
            {
                "type": "discount_code",
                "code": "SPRING",
                "title": "SPRING",
                "value": "10.0",
                "value_type": "percentage",
                "allocation_method": "across",
                "target_selection": "all",
                "target_type": "line_item",
            }
        ],
        "discount_codes": [{"code": "SPRING", "amount": "5.00", "type": "percentage"}],
        "tax_lines": [_vat("8.00", "7.36")],
        "refunds": [euro_refund()],
        "fulfillments": [],
    }


def half_refund() -> dict[str, Any]:
    """A refund of the sample order that paid back half of what its parts add up to."""
    refund = sample_json("2026-04/refunds_create")
    line = refund["refund_line_items"][0] | {
        "id": 2102,
        "subtotal": 20,
        "subtotal_set": money("20.00", "18.40"),
        "total_tax_set": money("0.00", "0.00"),
    }
    txn = refund["transactions"][0] | {
        "id": 2402,
        "gateway": "Bogus",
        "amount": "9.20",
        "currency": "EUR",
        "created_at": "2026-01-05T00:00:00Z",
        "processed_at": "2026-01-05T00:00:00Z",
    }
    return refund | {
        "id": R3,
        "created_at": "2026-01-05T00:00:00Z",
        "processed_at": None,
        "refund_line_items": [line],
        "transactions": [txn],
    }


def fulfillment(id: int, order_id: int, *, at: str, updated: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": id,
        "order_id": order_id,
        "name": f"#{id}.1",
        "created_at": at,
        "updated_at": updated,
        "tracking_company": None,
        "tracking_numbers": [],
        "tracking_urls": [],
        "line_items": [{"id": 487817672276298554, "quantity": 1}],
    } | extra


def item(id: int, sku: str, *, at: str, tracked: bool = True, cost: str | None = None) -> dict:
    return {"id": id, "sku": sku, "created_at": at, "updated_at": at, "cost": cost,
            "tracked": tracked, "requires_shipping": True}  # fmt: skip


def level(item_id: int, location: int, available: int | None, at: str) -> dict[str, Any]:
    return {"inventory_item_id": item_id, "location_id": location, "available": available,
            "updated_at": at}  # fmt: skip


def feed_money(shop: Sender, settings: Settings) -> None:
    """One shop's orders, refunds, transactions, fulfillments and inventory, through /webhooks."""
    items = sample_json("2026-04/inventory_items_create")
    deliver(
        shop,
        settings,
        ("orders/create", sample_json("2026-04/orders_create")),
        ("orders/create", euro_order()),
        ("refunds/create", sample_json("2026-04/refunds_create")),
        ("refunds/create", half_refund()),
        ("order_transactions/create", sample_json("2026-04/order_transactions_create")),
        ("order_transactions/create", {
            "id": 3001, "order_id": EURO_ORDER, "kind": "capture", "status": "failure",
            "gateway": "shopify_payments", "amount": "57.04", "currency": "EUR",
            "created_at": "2026-01-02T09:05:00Z", "processed_at": "2026-01-02T09:05:00Z",
        }),
        ("fulfillments/create", sample_json("2026-04/fulfillments_create")),
        ("fulfillments/create", fulfillment(F2, ORDER, at="2026-01-02T00:00:00Z",
                                            updated="2026-01-04T00:00:00Z", status="success",
                                            shipment_status="delivered")),
        ("fulfillments/create", fulfillment(F3, EURO_ORDER, at="2026-01-03T00:00:00Z",
                                            updated="2026-01-03T00:00:00Z", status="open",
                                            shipment_status="in_transit")),
        ("fulfillments/update", fulfillment(F3, EURO_ORDER, at="2026-01-03T00:00:00Z",
                                            updated="2026-01-05T00:00:00Z", status="cancelled",
                                            shipment_status="in_transit")),
        ("inventory_items/create", items),
        ("inventory_items/update", items | {"updated_at": "2026-01-02T00:00:00Z",
                                            "cost": "4.50"}),
        ("inventory_items/update", items | {"updated_at": "2026-01-03T00:00:00Z",
                                            "cost": "4.7500"}),
        ("inventory_items/create", item(MUG, "MUG-1", at="2026-01-04T00:00:00Z",
                                        tracked=False, cost="3.1250")),
        ("inventory_items/create", item(GONE, "GONE", at="2026-01-05T00:00:00Z")),
        ("inventory_levels/update", sample_json("2026-04/inventory_levels_update")),
        ("inventory_levels/connect", level(ITEM, 100, 7, "2026-01-02T00:00:00Z")),
        ("inventory_levels/update", level(ITEM, 200, 0, "2026-01-02T00:00:00Z")),
        ("inventory_levels/connect", level(MUG, 100, 5, "2026-01-04T00:00:00Z")),
        ("inventory_levels/connect", level(MUG, 300, 2, "2026-01-04T00:00:00Z")),
    )  # fmt: skip
    deliver(
        shop,
        settings,
        ("inventory_items/delete", {"id": GONE}),
        ("inventory_levels/disconnect", {"inventory_item_id": MUG, "location_id": 300}),
    )


@pytest.fixture
def shop(owner: dict[str, Any], client: FlaskClient, settings: Settings) -> Sender:
    """The owner's shop, fed with the money resources."""
    sender = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    feed_money(sender, settings)
    return sender


@pytest.fixture
def get(api_client: FlaskClient, owner: dict[str, Any]) -> Get:
    """GET as the owner; returns (status, JSON body)."""

    def call(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        response = api_client.get(url, headers=headers or owner["headers"])
        return response.status_code, response.get_json()

    return call


def _all_pages(get: Get, url: str, cursor: str | None = None) -> list[dict[str, Any]]:
    """Every item from `cursor` (the first page when None) to the last page."""
    items: list[dict[str, Any]] = []
    sep = "&" if "?" in url else "?"
    for _ in range(50):
        status, body = get(f"{url}{sep}cursor={cursor}" if cursor else url)
        assert status == 200, body
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


def _walk(get: Get, url: str, expected: list[int]) -> None:
    """Every page size walks the same rows in the same order."""
    sep = "&" if "?" in url else "?"
    for limit in (1, 2, 250):
        items = _all_pages(get, f"{url}{sep}limit={limit}")
        assert _ids(items) == [str(i) for i in expected], (url, limit)


# --- lists: sorts, pages and filters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [R3, R2, R1]),
        ("sort=created_at", [R1, R2, R3]),
        ("sort=processed_at", [R1, R2, R3]),  # no processed_at sorts last ascending
        ("sort=-processed_at", [R3, R2, R1]),
        ("sort=id", [R2, R3, R1]),
        (f"order_id={ORDER}", [R3, R1]),
        (f"order_id={EURO_ORDER}", [R2]),
        ("processed_at_min=2026-01-01T00:00:00Z", [R2]),
        ("created_at_max=2025-01-01", [R1]),
        ("created_at_min=2026-01-03T10:00:00Z&sort=created_at", [R2, R3]),
    ],
)
def test_refund_lists(shop: Sender, get: Get, query: str, expected: list[int]) -> None:
    _walk(get, f"/api/refunds?{query}", expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [2402, 2401, 3001, T1, T3, T2]),
        ("sort=id", [2401, 2402, 3001, T1, T2, T3]),
        ("kind=refund", [2402, 2401, T3, T2]),
        ("status=failure", [3001]),
        ("gateway=BOGUS", [2402, T3, T2]),
        ("kind=refund&gateway=shopify_payments", [2401]),
        (f"order_id={EURO_ORDER}", [2401, 3001]),
        ("processed_at_min=2026-01-03T00:00:00Z", [2402, 2401]),
        ("created_at_max=2020-01-01T23:59:59Z", [T2]),
    ],
)
def test_transaction_lists(shop: Sender, get: Get, query: str, expected: list[int]) -> None:
    _walk(get, f"/api/transactions?{query}", expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [F3, F2, F1]),
        ("sort=-id", [F3, F2, F1]),
        ("sort=created_at", [F1, F2, F3]),
        (f"order_id={EURO_ORDER}", [F3]),
        ("status=success", [F2]),
        ("status=cancelled", [F3]),  # the update won
        ("shipment_status=delivered", [F2]),
        ("updated_at_min=2026-01-04T00:00:00Z", [F3, F2]),
        ("created_at_max=2025-01-01", [F1]),
    ],
)
def test_fulfillment_lists(shop: Sender, get: Get, query: str, expected: list[int]) -> None:
    _walk(get, f"/api/fulfillments?{query}", expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [MUG, ITEM]),  # the deleted item is left out
        ("sort=id", [MUG, ITEM]),
        ("sort=created_at", [ITEM, MUG]),
        ("updated_at_min=2026-01-03T00:00:00Z", [MUG, ITEM]),
        ("updated_at_min=2026-01-03T00:00:01Z", [MUG]),
        ("sku=example-sku", [ITEM]),
        ("sku=EXAMPLE-SKU", []),
        ("tracked=false", [MUG]),
        ("tracked=true", [ITEM]),
    ],
)
def test_inventory_item_lists(shop: Sender, get: Get, query: str, expected: list[int]) -> None:
    _walk(get, f"/api/inventory-items?{query}", expected)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", [(MUG, 100), (ITEM, 100), (ITEM, 200), (ITEM, SAMPLE_LOCATION)]),
        ("sort=-inventory_item_id",
         [(ITEM, SAMPLE_LOCATION), (ITEM, 200), (ITEM, 100), (MUG, 100)]),
        (f"inventory_item_id={ITEM}", [(ITEM, 100), (ITEM, 200), (ITEM, SAMPLE_LOCATION)]),
        ("location_id=100", [(MUG, 100), (ITEM, 100)]),
        (f"inventory_item_id={ITEM}&location_id=200", [(ITEM, 200)]),
        ("location_id=300", []),  # disconnected
        ("updated_at_max=2026-01-01", [(ITEM, SAMPLE_LOCATION)]),
    ],
)  # fmt: skip
def test_inventory_levels_page_over_the_composite_key(
    shop: Sender, get: Get, query: str, expected: list[tuple[int, int]]
) -> None:
    sep = "&" if query else ""
    for limit in (1, 2, 3, 250):
        items = _all_pages(get, f"/api/inventory-levels?{query}{sep}limit={limit}")
        keys = [(int(i["inventory_item_id"]), int(i["location_id"])) for i in items]
        assert keys == expected, (query, limit)


def test_levels_answer_exact_ids_and_no_detail(shop: Sender, get: Get) -> None:
    status, body = get(f"/api/inventory-levels?inventory_item_id={ITEM}&location_id=100")
    assert status == 200
    assert body == {
        "items": [{"inventory_item_id": str(ITEM), "location_id": "100", "available": 7,
                   "updated_at": "2026-01-02T00:00:00+00:00"}],
        "next_cursor": None,
    }  # fmt: skip
    assert get(f"/api/inventory-levels/{ITEM}")[0] == 404


def test_pages_continue_after_rows_arrive(shop: Sender, settings: Settings, get: Get) -> None:
    first = get("/api/inventory-levels?limit=2")[1]
    deliver(
        shop,
        settings,
        ("inventory_levels/connect", level(MUG, 50, 1, "2026-01-06T00:00:00Z")),  # before
        ("inventory_levels/connect", level(ITEM, 150, 1, "2026-01-06T00:00:00Z")),  # after
    )
    rest = _all_pages(get, "/api/inventory-levels?limit=2", first["next_cursor"])
    assert [(int(i["inventory_item_id"]), int(i["location_id"])) for i in rest] == [
        (ITEM, 150),
        (ITEM, 200),
        (ITEM, SAMPLE_LOCATION),
    ]


# --- single rows, with exact money --------------------------------------------------------------


def test_refund_detail_has_its_parts_and_transactions(shop: Sender, get: Get) -> None:
    status, refund = get(f"/api/refunds/{R2}")
    assert status == 200, refund
    assert refund == {
        "id": str(R2), "order_id": str(EURO_ORDER), "note": "Too small", "restock": True,
        "total_refunded": "27.50", "total_refunded_presentment": "25.30",
        "created_at": "2026-01-03T10:00:00+00:00", "processed_at": "2026-01-03T10:00:00+00:00",
        "refund_line_items": [{
            "id": "2101", "line_item_id": "51", "quantity": 1, "restock_type": "return",
            "location_id": "100", "gift_card": False, "price": "20.00", "subtotal": "17.50",
            "subtotal_presentment": "16.10", "total_tax": "3.50", "total_tax_presentment": "3.22",
        }],
        "refund_shipping_lines": [{
            "id": "2201", "shipping_line_id": "71", "subtotal": "5.00",
            "subtotal_presentment": "4.60", "tax": "1.00", "tax_presentment": "0.92",
        }],
        "order_adjustments": [{
            "id": "2301", "kind": "refund_discrepancy", "reason": "Refund discrepancy",
            "amount": "1.00", "amount_presentment": "0.92", "tax_amount": "0.00",
            "tax_amount_presentment": "0.00",
        }],
        "duties": [{"duty_id": "61", "amount": "1.50", "amount_presentment": "1.38"}],
        "transactions": [{
            "id": "2401", "order_id": str(EURO_ORDER), "refund_id": str(R2), "parent_id": None,
            "kind": "refund", "status": "success", "gateway": "shopify_payments",
            "amount": "25.30", "currency": "EUR", "amount_shop": None, "error_code": None,
            "source_name": None, "test": None, "created_at": "2026-01-03T10:00:00+00:00",
            "processed_at": "2026-01-03T10:00:00+00:00",
        }],
    }  # fmt: skip
    # Half of what its parts add up to was paid back: half the shop money too.
    half = get(f"/api/refunds/{R3}")[1]
    assert (half["total_refunded"], half["total_refunded_presentment"]) == ("10.00", "9.20")
    assert [t["id"] for t in half["transactions"]] == ["2402"]
    sample = get(f"/api/refunds/{R1}")[1]
    assert sample["total_refunded"] == "85.00"
    assert [line["id"] for line in sample["refund_line_items"]] == [
        "315789986012684500", "487817672276298627", "789012345678901307",
        "890123456789012500", "976318377106520400",
    ]  # fmt: skip
    assert [t["id"] for t in sample["transactions"]] == [str(T2), str(T3)]
    # A list row is the refund with its parts; its transactions are a list of their own.
    listed = get(f"/api/refunds?order_id={EURO_ORDER}")[1]["items"]
    assert listed == [{k: v for k, v in refund.items() if k != "transactions"}]
    assert (
        get(f"/api/transactions?order_id={EURO_ORDER}&kind=refund")[1]["items"]
        == (refund["transactions"])
    )


def test_transaction_detail(shop: Sender, get: Get) -> None:
    status, txn = get(f"/api/transactions/{T1}")
    assert status == 200
    assert txn == {
        "id": str(T1), "order_id": str(ORDER), "refund_id": None, "parent_id": None,
        "kind": "authorization", "status": "success", "gateway": "visa", "amount": "419.95",
        "currency": "USD", "amount_shop": None, "error_code": None, "source_name": "web",
        "test": False, "created_at": "2022-01-01T00:00:00+00:00", "processed_at": None,
    }  # fmt: skip
    assert get(f"/api/transactions/{T2}")[1]["refund_id"] == str(R1)


def test_fulfillment_detail_has_its_lines(shop: Sender, get: Get) -> None:
    status, body = get(f"/api/fulfillments/{F1}")
    assert status == 200
    assert {k: v for k, v in body.items() if k != "line_items"} == {
        "id": str(F1), "order_id": str(ORDER), "name": "#9999.1", "status": "pending",
        "shipment_status": None, "service": None, "tracking_company": "UPS",
        "tracking_numbers": ["1z827wk74630"],
        "tracking_urls": [
            "https://www.ups.com/WebTracking?loc=en_US&requester=ST&trackNums=1z827wk74630"
        ],
        "location_id": None, "created_at": "2022-01-01T00:00:00+00:00",
        "updated_at": "2022-01-01T00:00:00+00:00",
    }  # fmt: skip
    assert body["line_items"] == [
        {"line_item_id": str(i), "quantity": 1}
        for i in (487817672276298554, 789012345678901234, 890123456789012345,
                  976318377106520349, 315789986012684393)
    ]  # fmt: skip
    cancelled = get(f"/api/fulfillments/{F3}")[1]
    assert (cancelled["status"], cancelled["tracking_numbers"]) == ("cancelled", None)
    # A list row carries its lines too.
    assert get(f"/api/fulfillments?order_id={ORDER}&sort=id")[1]["items"][0] == body


def test_inventory_item_detail_has_costs_newest_first_and_levels(shop: Sender, get: Get) -> None:
    status, body = get(f"/api/inventory-items/{ITEM}")
    assert status == 200
    assert body["sku"] == "example-sku"
    assert (body["cost"], body["tracked"], body["requires_shipping"]) == ("4.75", True, True)
    assert body["costs"] == [
        {"recorded_at": "2026-01-03T00:00:00+00:00", "cost": "4.75"},
        {"recorded_at": "2026-01-02T00:00:00+00:00", "cost": "4.50"},
        {"recorded_at": "2022-01-01T00:00:00+00:00", "cost": None},
    ]
    assert [(lv["location_id"], lv["available"]) for lv in body["levels"]] == [
        ("100", 7),
        ("200", 0),
        (str(SAMPLE_LOCATION), None),
    ]
    mug = get(f"/api/inventory-items/{MUG}")[1]
    assert (mug["cost"], mug["costs"]) == (
        "3.125",  # the stored precision, not rounded to the cent
        [{"recorded_at": "2026-01-04T00:00:00+00:00", "cost": "3.125"}],
    )
    assert [lv["location_id"] for lv in mug["levels"]] == ["100"]  # 300 was disconnected
    assert get(f"/api/inventory-items/{GONE}")[0] == 404  # deleted


def test_order_detail_has_its_money_parts(shop: Sender, get: Get) -> None:
    status, order = get(f"/api/orders/{EURO_ORDER}")
    assert status == 200, order
    totals = {k: order[k] for k in (
        "currency", "presentment_currency", "taxes_included", "total_line_items_price",
        "total_price", "subtotal_price", "total_tax", "total_discounts", "total_shipping_price",
        "total_duties", "total_tip_received", "current_total_price", "total_refunded",
        "total_price_presentment", "subtotal_price_presentment", "total_tax_presentment",
        "total_discounts_presentment", "total_shipping_price_presentment",
        "total_refunded_presentment",
    )}  # fmt: skip
    assert totals == {
        "currency": "USD", "presentment_currency": "EUR", "taxes_included": False,
        "total_line_items_price": "50.00", "total_price": "62.00", "subtotal_price": "45.00",
        "total_tax": "8.00", "total_discounts": "5.00", "total_shipping_price": "5.00",
        "total_duties": "1.50", "total_tip_received": "2.50", "current_total_price": "34.50",
        "total_refunded": "27.50", "total_price_presentment": "57.04",
        "subtotal_price_presentment": "41.40", "total_tax_presentment": "7.36",
        "total_discounts_presentment": "4.60", "total_shipping_price_presentment": "4.60",
        "total_refunded_presentment": "25.30",
    }  # fmt: skip
    assert order["line_items"] == [
        {"id": "51", "product_id": "7001", "variant_id": "8001", "sku": "TEE", "title": "Tee",
         "vendor": "Acme", "quantity": 2, "current_quantity": 1, "gift_card": False,
         "price": "20.00", "price_presentment": "18.40", "total_discount": "0.00",
         "discount_allocated": "5.00", "discount_allocated_presentment": "4.60", "tax": "7.00",
         "tax_presentment": "6.44", "duties": "1.50", "duties_presentment": "1.38"},
        {"id": "52", "product_id": "7001", "variant_id": "8001", "sku": "CARD",
         "title": "Gift card", "vendor": None, "quantity": 1, "current_quantity": None,
         "gift_card": True, "price": "10.00", "price_presentment": "9.20",
         "total_discount": None, "discount_allocated": "0.00",
         "discount_allocated_presentment": "0.00", "tax": "0.00", "tax_presentment": "0.00",
         "duties": None, "duties_presentment": None},
    ]  # fmt: skip
    assert order["shipping_lines"] == [
        {"id": "71", "title": "Standard", "code": "STD", "source": "shopify", "price": "5.00",
         "price_presentment": "4.60", "discounted_price": "5.00", "discount_allocated": "0.00",
         "discount_allocated_presentment": "0.00", "tax": "1.00", "tax_presentment": "0.92",
         "is_removed": False},
    ]  # fmt: skip
    assert order["discount_applications"] == [
        {"index": 0, "type": "discount_code", "code": "SPRING", "title": "SPRING",
         "value": "10.00", "value_type": "percentage", "allocation_method": "across",
         "target_selection": "all", "target_type": "line_item"},
    ]  # fmt: skip
    assert order["discount_allocations"] == [
        {"line_item_id": "51", "shipping_line_id": None, "application_index": 0,
         "amount": "5.00", "amount_presentment": "4.60"},
    ]  # fmt: skip
    assert order["discount_codes"] == [{"code": "SPRING", "type": "percentage", "amount": "5.00"}]
    assert order["tax_lines"] == [
        {"title": "VAT", "rate": "0.2", "price": "8.00", "price_presentment": "7.36",
         "channel_liable": None},
    ]  # fmt: skip
    assert order["duties"] == [
        {"id": "61", "line_item_id": "51", "harmonized_system_code": "610910",
         "country_code_of_origin": "PT", "price": "1.50", "price_presentment": "1.38"},
    ]  # fmt: skip
    # Its refunds with their parts, every transaction (refunds' too), its fulfillments.
    refund = get(f"/api/refunds/{R2}")[1]
    assert order["refunds"] == [{k: v for k, v in refund.items() if k != "transactions"}]
    assert order["transactions"] == [
        get(f"/api/transactions/{i}")[1] for i in (3001, 2401)
    ]  # oldest first
    assert order["fulfillments"] == [get(f"/api/fulfillments/{F3}")[1]]
    sample = get(f"/api/orders/{ORDER}")[1]
    assert [r["id"] for r in sample["refunds"]] == [str(R1), str(R3)]
    assert [t["id"] for t in sample["transactions"]] == [str(T2), str(T3), str(T1), "2402"]
    assert [f["id"] for f in sample["fulfillments"]] == [str(F1), str(F2)]
    assert [r["total_refunded"] for r in sample["refunds"]] == ["85.00", "10.00"]
    # A list row carries the same money parts as the single order.
    listed = {o["id"]: o for o in get("/api/orders")[1]["items"]}[str(EURO_ORDER)]
    assert listed == order


def test_product_detail_shows_partial_variants_and_inventory_items(
    owner: dict[str, Any], client: FlaskClient, settings: Settings, get: Get
) -> None:
    product = sample_json("2026-04/products_create")
    product["variants"] = [product["variants"][0] | {"inventory_item_id": ITEM}]
    deliver(
        Sender(client, shop=owner["shop"], secret=owner["webhook_secret"]),
        settings,
        ("products/create", product),
    )
    status, body = get(f"/api/products/{product['id']}")
    assert status == 200, body
    # Its variant_gids name a second variant the payload does not carry.
    assert body["variants_partial"] is True
    assert [(v["id"], v["inventory_item_id"]) for v in body["variants"]] == [
        (str(product["variants"][0]["id"]), str(ITEM))
    ]


# --- the OpenAPI document ------------------------------------------------------------------------

DOCUMENTED = {
    "/api/refunds": {"order_id", "processed_at_min", "processed_at_max", "created_at_min"},
    "/api/transactions": {"order_id", "kind", "status", "gateway", "processed_at_max"},
    "/api/fulfillments": {"order_id", "status", "shipment_status", "updated_at_min"},
    "/api/inventory-items": {"sku", "tracked", "created_at_min"},
    "/api/inventory-levels": {"inventory_item_id", "location_id", "updated_at_max"},
}
SERVED = [
    ("/api/refunds", "/api/refunds"), ("/api/refunds/{id}", f"/api/refunds/{R2}"),
    ("/api/transactions", "/api/transactions"),
    ("/api/transactions/{id}", f"/api/transactions/{T1}"),
    ("/api/fulfillments", "/api/fulfillments"),
    ("/api/fulfillments/{id}", f"/api/fulfillments/{F1}"),
    ("/api/inventory-items", "/api/inventory-items"),
    ("/api/inventory-items/{id}", f"/api/inventory-items/{ITEM}"),
    ("/api/inventory-levels", "/api/inventory-levels"),
    ("/api/orders", "/api/orders"), ("/api/orders/{id}", f"/api/orders/{EURO_ORDER}"),
]  # fmt: skip


def test_every_answer_matches_the_openapi_document(
    shop: Sender, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    spec = api_client.get("/openapi.json").get_json()
    for path, names in DOCUMENTED.items():
        params = {p["name"] for p in spec["paths"][path]["get"]["parameters"]}
        assert names | {"limit", "cursor", "sort"} <= params, path
    assert spec["components"]["schemas"]["RefundOut"]["properties"]["id"]["type"] == "string"
    schema = schemathesis.openapi.from_wsgi("/openapi.json", api_client.application)
    for template, url in SERVED:
        response = api_client.get(url, headers=owner["headers"])
        assert response.status_code == 200, url
        assert response.get_json().get("items", True), url  # a list with rows to check
        schema[template]["GET"].validate_response(response)


# --- errors -------------------------------------------------------------------------------------


def _cursor(doc: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


LEVELS_SORT = "inventory_item_id"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/refunds?cursor=bm90IGpzb24", "cursor"),
        ("/api/refunds?sort=total_refunded", "sort"),
        ("/api/refunds?order_id=12ab", "order_id"),
        ("/api/refunds?processed_at_min=yesterday", "processed_at_min"),
        ("/api/refunds?created_at_min=2026-02-01&created_at_max=2026-01-01", "created_at_max"),
        ("/api/transactions?kind=gift", "kind"),
        ("/api/transactions?status=done", "status"),
        ("/api/transactions?gateway=", "gateway"),
        ("/api/transactions?processed_at_max=2026-13-01", "processed_at_max"),
        ("/api/fulfillments?status=shipped", "status"),
        ("/api/fulfillments?shipment_status=lost", "shipment_status"),
        ("/api/fulfillments?order_id=99999999999999999999", "order_id"),
        ("/api/inventory-items?tracked=maybe", "tracked"),
        ("/api/inventory-items?sku=", "sku"),
        ("/api/inventory-items?limit=0", "limit"),
        ("/api/inventory-levels?location_id=-1", "location_id"),
        ("/api/inventory-levels?sort=available", "sort"),
        ("/api/inventory-levels?sort=updated_at", "sort"),
        ("/api/transactions?sort=processed_at", "sort"),
        # A cursor of a one-column key, or a composite key of the wrong shape or types.
        ("/api/inventory-levels?cursor=" + _cursor({"s": LEVELS_SORT, "v": "1", "k": "1"}),
         "cursor"),
        ("/api/inventory-levels?cursor=" + _cursor({"s": LEVELS_SORT, "v": "1", "k": ["1"]}),
         "cursor"),
        ("/api/inventory-levels?cursor="
         + _cursor({"s": LEVELS_SORT, "v": "1", "k": ["1", "x"]}), "cursor"),
        ("/api/inventory-levels?cursor="
         + _cursor({"s": LEVELS_SORT, "v": "1", "k": ["1", None]}), "cursor"),
        ("/api/inventory-levels?cursor="
         + _cursor({"s": LEVELS_SORT, "v": "1", "k": ["1", str(2**63)]}), "cursor"),
        ("/api/refunds?cursor=" + _cursor({"s": "-created_at", "v": "soon", "k": "1"}),
         "cursor"),
        ("/api/transactions?cursor=" + _cursor({"s": "-created_at", "v": None, "k": ["1"]}),
         "cursor"),
    ],
)  # fmt: skip
def test_bad_arguments_answer_400_per_field(get: Get, url: str, field: str) -> None:
    status, body = get(url)
    assert status == 400, body
    assert body["error"] == "invalid_request"
    assert field in body["fields"], body


@pytest.mark.parametrize(
    "path",
    ["refunds/abc", "refunds/-1", "transactions/99999999999999999999", "fulfillments/1.5",
     "inventory-items/%20", "refunds/2003", "transactions/1", "fulfillments/1"],
)  # fmt: skip
def test_bad_or_unknown_ids_answer_404(shop: Sender, get: Get, path: str) -> None:
    status, body = get(f"/api/{path}")
    assert (status, body["error"]) == (404, "not_found")


RESOURCES = ["refunds", "transactions", "fulfillments", "inventory-items", "inventory-levels"]


@pytest.mark.parametrize("resource", RESOURCES)
def test_every_role_reads_and_strangers_do_not(
    api_client: FlaskClient, make_user: Callable[..., Any], resource: str
) -> None:
    for role in ("analyst", "admin"):
        response = api_client.get(f"/api/{resource}", headers=make_user(role)["headers"])
        assert response.status_code == 200
        assert response.get_json() == {"items": [], "next_cursor": None}
    assert api_client.get(f"/api/{resource}").status_code == 401
