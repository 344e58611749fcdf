"""The order and product lists' filters, against a plain-Python selection over the payloads.

Every filter is read a page of three at a time, so keyset pagination is exercised with the
filter in force: the pages together must be exactly the orders the oracle selects, each once.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from tests.support.accounts import register_shop
from tests.support.product_oracle import orders_matching
from tests.support.product_scenario import (
    PRODUCT,
    Account,
    deletions,
    deliver_in_order,
    deliver_shuffled,
    shop_data,
)
from tests.support.sales_scenario import repriced, sales

NY = "America/New_York"
FILTERS = [
    {"channel": "web"},
    {"channel": "POS"},
    {"customer_type": "new"},
    {"customer_type": "returning"},
    {"product_type": "furniture"},
    {"product_type": "Sunglasses", "channel": "web"},
    {"vendor": "ray works"},
    {"vendor": "Oak & Co", "customer_type": "returning"},
    {"customer_tag": "vip"},
    {"customer_tag": " Wholesale "},
    {"customer_tag": "newsletter"},  # only the deleted customer had it
    {"customer_tag": "vip", "financial_status": "partially_refunded"},
    {"product_type": "nothing of the kind"},
]
SORTS = ["-created_at", "processed_at", "id"]


def all_pages(
    api_client: FlaskClient, account: Account, path: str, query: dict[str, str]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_query = query | {"limit": "3"} | ({"cursor": cursor} if cursor else {})
        response = api_client.get(path, query_string=page_query, headers=account["headers"])
        assert response.status_code == 200, (query, response.get_data(as_text=True))
        body = response.get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


@pytest.fixture
def shop(api_client: FlaskClient, client: FlaskClient, settings: Settings) -> dict[str, Any]:
    owner = register_shop(api_client, settings, NY)
    data = shop_data()
    deliver_shuffled(client, settings, owner, data, seed=5)
    deliver_in_order(client, settings, owner, deletions())
    # Another shop with the same ids: none of its orders may show.
    other = register_shop(api_client, settings, "UTC")
    deliver_in_order(client, settings, other, shop_data([repriced(s, 2) for s in sales()[:6]]))
    return {"owner": owner, "data": data + deletions()}


def test_order_filters_select_what_the_oracle_selects(
    api_client: FlaskClient, shop: dict[str, Any]
) -> None:
    problems = []
    for filters in FILTERS:
        expected = orders_matching(shop["data"], **filters)
        for sort in SORTS:
            items = all_pages(api_client, shop["owner"], "/api/orders", filters | {"sort": sort})
            ids = [int(i["id"]) for i in items]
            if len(ids) != len(set(ids)) or set(ids) != expected:
                problems.append(f"{filters} {sort}: expected {sorted(expected)}, got {ids}")
    assert not problems, "\n".join(problems)


def test_filters_combine_with_the_date_ranges(
    api_client: FlaskClient, shop: dict[str, Any]
) -> None:
    query = {"customer_type": "returning", "processed_at_min": "2026-04-01T04:00:00Z"}
    expected = orders_matching(shop["data"], **query)
    items = all_pages(api_client, shop["owner"], "/api/orders", query)
    assert {int(i["id"]) for i in items} == expected
    assert expected  # the scenario has returning customers' orders in April


def test_product_list_by_type_and_vendor(api_client: FlaskClient, shop: dict[str, Any]) -> None:
    ray = all_pages(api_client, shop["owner"], "/api/products", {"vendor": "RAY WORKS"})
    assert {int(p["id"]) for p in ray} == {PRODUCT + 1, PRODUCT + 3}
    typed = all_pages(
        api_client, shop["owner"], "/api/products", {"product_type": "accessories", "sort": "title"}
    )
    assert [int(p["id"]) for p in typed] == [PRODUCT + 3]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"customer_type": "guest"}, "customer_type"),
        ({"customer_type": ""}, "customer_type"),
        ({"channel": ""}, "channel"),
        ({"vendor": "x" * 256}, "vendor"),
        ({"customer_tag": ""}, "customer_tag"),
        ({"product_type": ""}, "product_type"),
        ({"processed_at_min": "yesterday"}, "processed_at_min"),
    ],
)
def test_bad_filters_answer_400(
    api_client: FlaskClient, owner: dict[str, Any], query: dict[str, str], field: str
) -> None:
    response = api_client.get("/api/orders", query_string=query, headers=owner["headers"])
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert field in body.get("fields", {}), body


def test_the_filters_are_documented(api_client: FlaskClient) -> None:
    spec = api_client.get("/openapi.json").get_json()
    params = {p["name"] for p in spec["paths"]["/api/orders"]["get"]["parameters"]}
    assert {"channel", "customer_type", "product_type", "vendor", "customer_tag"} <= params
    assert "format" in params
    content = spec["paths"]["/api/orders"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv"} <= set(content)
