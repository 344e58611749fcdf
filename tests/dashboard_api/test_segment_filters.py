"""The sales report, insights and the products report narrowed to the customers of one RFM
segment or with one tag, or to the orders with a line of one product type or vendor, proved
against the oracles over those orders' deliveries only.

Segments and tags are the analytics recompute's (workers/analytics); which customers they hold
comes here from the customer oracle, not from the database.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from models.db import session_scope
from tests.support import customer_oracle
from tests.support import product_scenario as products
from tests.support.accounts import Account, register_shop
from tests.support.customer_scenario import deliver, generated
from tests.support.sales_oracle import differences, sales_report
from workers.analytics.customers import recompute_tenant

NY = "America/New_York"
NOW = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
START, END = "2025-11-01", "2026-06-30"


@pytest.fixture
def history(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> tuple[Account, list[Any]]:
    account = register_shop(api_client, settings, NY)
    data, _ = generated(seed=5)
    deliver(client, settings, account, data, seed=9)
    with session_scope(settings.database_url) as session:
        recompute_tenant(session, account["tenant_id"], NOW)
    return account, data


def of_customers(data: list[Any], chosen: set[int]) -> list[Any]:
    """The deliveries, less the orders (and their refunds) of every other customer and guest."""
    orders = {
        p["id"]
        for topic, p, *_ in data
        if topic.startswith("orders/") and (p.get("customer") or {}).get("id") in chosen
    }

    def keep(topic: str, payload: dict[str, Any]) -> bool:
        if topic.startswith("orders/"):
            return payload["id"] in orders
        if topic.startswith("refunds/"):
            return payload["order_id"] in orders
        return True

    return [d for d in data if keep(d[0], d[1])]


def get(api_client: FlaskClient, account: Account, path: str, **query: Any) -> Any:
    response = api_client.get(path, query_string=query, headers=account["headers"])
    assert response.status_code == 200, (path, query, response.get_data(as_text=True))
    return response.get_json()


def groups(data: list[Any]) -> dict[str, set[int]]:
    """Customers per filter value: `segment=<name>` and `tag=<tag>`, from the oracle."""
    out: dict[str, set[int]] = {}
    for item in customer_oracle.customers(data, date(2026, 7, 1), NY).values():
        out.setdefault(f"segment={item['segment']}", set()).add(int(item["id"]))
        for tag in item["tags"]:
            out.setdefault(f"tag={tag}", set()).add(int(item["id"]))
    return out


def test_the_sales_report_of_a_segment_or_tag_matches_the_oracle_to_the_cent(
    api_client: FlaskClient, history: tuple[Account, list[Any]]
) -> None:
    account, data = history
    chosen = groups(data)
    assert sum(k.startswith("segment=") for k in chosen) >= 3
    assert sum(k.startswith("tag=") for k in chosen) >= 2
    problems = []
    for name, customers in sorted(chosen.items()):
        field, value = name.split("=", 1)
        got = get(
            api_client, account, "/api/reports/sales", **{"from": START, "to": END, field: value}
        )
        expected = sales_report(
            of_customers(data, customers), date.fromisoformat(START), date.fromisoformat(END), NY
        )
        expected["currency"] = "USD"  # the shop's, whichever customers are counted
        problems += [f"[{name}] {d}" for d in differences(expected, got)]
    assert not problems, "\n".join(problems)


def test_insights_and_products_of_a_segment_count_only_its_customers(
    api_client: FlaskClient, history: tuple[Account, list[Any]]
) -> None:
    account, data = history
    chosen = groups(data)
    name = max((k for k in chosen if k.startswith("segment=")), key=lambda k: len(chosen[k]))
    field, value = name.split("=", 1)
    query = {"from": START, "to": END}
    whole = get(api_client, account, "/api/insights", **query)
    part = get(api_client, account, "/api/insights", **query, **{field: value}, shopify="true")
    expected = sales_report(
        of_customers(data, chosen[name]), date.fromisoformat(START), date.fromisoformat(END), NY
    )
    top = {c["id"] for c in part["top_customers"]}
    assert top and top <= {str(c) for c in chosen[name]}
    assert 0 < part["orders"]["count"] < whole["orders"]["count"]
    shopify = part["sales"]["shopify"]
    for figure in ("gross_sales", "discounts", "returns", "net_sales", "total_sales"):
        assert shopify[figure] == expected["totals"][figure], figure
    products = get(api_client, account, "/api/analytics/products", **query, **{field: value})
    assert products["source"] == "rows"
    assert products["totals"]["net_sales"] == expected["totals"]["net_sales"]


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/reports/sales", {"segment": "royalty"}),
        ("/api/insights", {"segment": ""}),
        ("/api/analytics/products", {"tag": ""}),
        ("/api/reports/sales", {"tag": "x" * 300}),
    ],
)
def test_a_bad_segment_or_tag_is_400(
    api_client: FlaskClient, history: tuple[Account, list[Any]], path: str, query: dict[str, str]
) -> None:
    account, _ = history
    response = api_client.get(path, query_string=query, headers=account["headers"])
    assert response.status_code == 400, response.get_data(as_text=True)
    assert set(response.get_json()["fields"]) == set(query)


def with_a_line_of(data: list[Any], products: set[int]) -> list[Any]:
    """The deliveries, less the orders (and their refunds) with no line of these products."""
    orders = {
        p["id"]
        for topic, p, *_ in data
        if topic.startswith("orders/")
        and any(line.get("product_id") in products for line in p.get("line_items") or ())
    }
    return [
        d
        for d in data
        if not (d[0].startswith("orders/") and d[1]["id"] not in orders)
        and not (d[0].startswith("refunds/") and d[1]["order_id"] not in orders)
    ]


@pytest.mark.parametrize(
    ("field", "value"), [("vendor", "ray works"), ("product_type", "Furniture"), ("vendor", "none")]
)
def test_the_sales_report_and_insights_of_a_product_type_or_vendor_match_the_oracle(
    api_client: FlaskClient, client: FlaskClient, settings: Settings, field: str, value: str
) -> None:
    owner = register_shop(api_client, settings, NY)
    data = products.shop_data()
    products.deliver_in_order(client, settings, owner, data)
    chosen = {
        p["id"]
        for topic, p, *_ in data
        if topic.startswith("products/") and (p[field] or "").lower() == value.lower()
    }
    start, end = "2026-03-01", "2026-04-30"
    query = {"from": start, "to": end, field: value}
    expected = sales_report(
        with_a_line_of(data, chosen), date.fromisoformat(start), date.fromisoformat(end), NY
    )
    expected["currency"] = "USD"
    got = get(api_client, owner, "/api/reports/sales", **query)
    assert not differences(expected, got)
    insights = get(api_client, owner, "/api/insights", **query, shopify="true")
    assert insights["sales"]["shopify"]["net_sales"] == expected["totals"]["net_sales"]
    assert insights["orders"]["count"] == sum(day["orders"] for day in expected["days"])
