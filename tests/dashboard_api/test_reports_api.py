"""GET /api/reports/sales as an API: a hand-computed answer, caching, bad input, other tenants.

The report's figures are proven against an independent computation in test_sales_report.py;
this file checks the endpoint around them on a small shop whose figures are worked out here.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from tests.support.shop_builders import deliver, order
from tests.support.webhooks import Sender

RANGE = "from=2026-01-10&to=2026-01-12&tz=UTC"


def _refund(order_id: int, refund_id: int, *, line_id: int, amount: str, at: str) -> dict[str, Any]:
    """A refund of one unit of a line, money back in full."""
    money = {"amount": amount, "currency_code": "EUR"}
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": at,
        "processed_at": at,
        "refund_line_items": [
            {
                "id": refund_id + 1,
                "line_item_id": line_id,
                "quantity": 1,
                "restock_type": "return",
                "subtotal": float(amount),
                "subtotal_set": {"shop_money": money, "presentment_money": money},
                "total_tax": 0,
            }
        ],
        "transactions": [
            {"id": refund_id + 2, "order_id": order_id, "kind": "refund", "status": "success",
             "amount": amount, "currency": "EUR"}
        ],
    }  # fmt: skip


@pytest.fixture
def shop(owner: dict[str, Any], client: FlaskClient, settings: Settings) -> Sender:
    sender = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    deliver(
        sender,
        settings,
        ("orders/create", order(1, total="100.00", at="2026-01-10T12:00:00Z")),
        ("orders/create", order(2, total="40.00", at="2026-01-10T13:00:00Z")),
        ("orders/create", order(3, total="500.00", at="2026-01-11T13:00:00Z", test=True)),
        # 30.00 of order 1 comes back two days later.
        ("refunds/create", _refund(1, 7000, line_id=11, amount="30.00", at="2026-01-12T09:00:00Z")),
    )
    return sender


def _day(body: dict[str, Any], day: str) -> dict[str, Any]:
    return next(d for d in body["days"] if d["date"] == day)


def test_sales_and_returns_land_on_their_own_days(
    shop: Sender, api_client: FlaskClient, owner: dict[str, Any]
) -> None:
    response = api_client.get(f"/api/reports/sales?{RANGE}", headers=owner["headers"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"], body["tz"], body["currency"]) == (
        "2026-01-10", "2026-01-12", "UTC", "EUR",
    )  # fmt: skip
    first, second, third = (_day(body, d) for d in ("2026-01-10", "2026-01-11", "2026-01-12"))
    # Orders 1 and 2 on the 10th (the test order 3 is left out).
    assert first | {"date": None} == {
        "date": None, "orders": 2, "gross_sales": "140.00", "discounts": "0.00",
        "returns": "0.00", "net_sales": "140.00", "shipping": "0.00", "taxes": "0.00",
        "duties": "0.00", "total_sales": "140.00", "average_order_value": "70.00",
        "cost_of_goods_sold": "0.00", "net_sales_with_cost_recorded": "0.00",
        "gross_profit": "0.00",
    }  # fmt: skip
    assert second["orders"] == 0 and second["net_sales"] == "0.00"
    assert second["average_order_value"] is None
    # The refund's day: only the return, a negative net.
    assert (third["orders"], third["returns"], third["net_sales"], third["total_sales"]) == (
        0, "-30.00", "-30.00", "-30.00",
    )  # fmt: skip
    totals = body["totals"]
    assert (totals["orders"], totals["gross_sales"], totals["returns"], totals["net_sales"]) == (
        2, "140.00", "-30.00", "110.00",
    )  # fmt: skip
    assert totals["average_order_value"] == "70.00"


def test_answers_are_cached_until_the_data_changes(
    shop: Sender, api_client: FlaskClient, owner: dict[str, Any], settings: Settings
) -> None:
    url = f"/api/reports/sales?{RANGE}"
    assert api_client.get(url, headers=owner["headers"]).headers["X-Cache"] == "miss"
    assert api_client.get(url, headers=owner["headers"]).headers["X-Cache"] == "hit"
    deliver(shop, settings, ("orders/create", order(4, total="5.00", at="2026-01-11T10:00:00Z")))
    again = api_client.get(url, headers=owner["headers"])
    assert again.headers["X-Cache"] == "miss"
    assert again.get_json()["totals"]["orders"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-01-12&to=2026-01-10", "to"),
        ("from=2026-13-01", "from"),
        ("from=2020-01-01&to=2026-01-01", "to"),
        ("tz=Mars/Olympus", "tz"),
    ],
)
def test_bad_ranges_are_400_naming_the_field(
    api_client: FlaskClient, owner: dict[str, Any], query: str, field: str
) -> None:
    response = api_client.get(f"/api/reports/sales?{query}", headers=owner["headers"])
    assert response.status_code == 400
    body = response.get_json()
    assert field in str(body), body


def test_another_tenants_sales_never_show(
    shop: Sender, api_client: FlaskClient, make_owner: Any
) -> None:
    other = make_owner()
    body = api_client.get(f"/api/reports/sales?{RANGE}", headers=other["headers"]).get_json()
    assert body["totals"]["orders"] == 0 and body["totals"]["gross_sales"] == "0.00"
    assert body["currency"] is None


def test_login_is_required(api_client: FlaskClient) -> None:
    assert api_client.get(f"/api/reports/sales?{RANGE}").status_code == 401
