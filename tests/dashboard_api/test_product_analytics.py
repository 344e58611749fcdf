"""GET /api/analytics/products proved to the cent against a plain-Python reading of the payloads.

The scenario (tests/support/product_scenario.py) goes through the real pipeline, every payload
twice and shuffled; the oracle (tests/support/product_oracle.py) computes every figure from the
same payload dicts. Refunds in later months, cancellations, test and deleted orders, gift
cards, lines without a product, unknown and changing unit costs, a shop in New York (a DST day
in range) and a query in another zone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from itertools import product
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from core.settings import Settings
from core.versions import bump_versions
from dashboard_api.queries import columns
from models.db import session_scope
from tests.support.accounts import register_shop
from tests.support.product_oracle import products_report
from tests.support.product_scenario import (
    PRODUCT,
    Account,
    deletions,
    deliver_in_order,
    deliver_shuffled,
    shop_data,
)
from tests.support.sales_scenario import (
    BLACK,
    CASE,
    LINE,
    Line,
    Refund,
    Sale,
    discount,
    ny,
    repriced,
    sales,
)
from writes.rollups import rebuild

NY = "America/New_York"
FIGURES = (
    "units_sold", "units_returned", "net_units", "gross_sales", "discounts", "returns",
    "net_sales", "refund_rate", "cost_of_goods_sold", "net_sales_with_cost_recorded",
    "gross_profit", "units_with_cost", "cost_coverage",
)  # fmt: skip
ROW = (*FIGURES, "previous_net_sales", "growth")
STOCK = ("available", "sell_through")


def get_report(api_client: FlaskClient, account: Account, **query: str) -> dict[str, Any]:
    response = api_client.get(
        "/api/analytics/products", query_string=query, headers=account["headers"]
    )
    assert response.status_code == 200, (query, response.get_data(as_text=True))
    body: dict[str, Any] = response.get_json()
    return body


def key_of(group_by: str, item: dict[str, Any]) -> Any:
    def number(value: str | None) -> int | None:
        return int(value) if value else None

    if group_by == "product":
        return number(item["product_id"])
    if group_by == "variant":
        return (number(item["product_id"]), number(item["variant_id"]))
    return item[group_by]


def compare(expected: dict[str, Any], got: dict[str, Any], group_by: str) -> list[str]:
    """Every figure of the totals and of every row that differs, one line each."""
    out = [
        f"totals {k}: expected {expected['totals'][k]!r}, got {got['totals'][k]!r}"
        for k in FIGURES
        if expected["totals"][k] != got["totals"][k]
    ]
    rows = {key_of(group_by, item): item for item in got["items"]}
    if set(rows) != set(expected["items"]):
        out.append(
            f"groups: expected {sorted(map(str, expected['items']))}, got {sorted(map(str, rows))}"
        )
    names = ROW + (STOCK if group_by in ("product", "variant") else ())
    for key, want in expected["items"].items():
        have = rows.get(key, {})
        out += [
            f"{key} {k}: expected {want[k]!r}, got {have.get(k, '<missing>')!r}"
            for k in names
            if have.get(k, "<missing>") != want[k]
        ]
    top = [key_of(group_by, i) for i in got["top_by_net_sales"]]
    if top != expected["top_by_net_sales"]:
        out.append(f"top: expected {expected['top_by_net_sales']}, got {top}")
    trending = [key_of(group_by, i) for i in got["trending"]]
    if trending != expected["trending"]:
        out.append(f"trending: expected {expected['trending']}, got {trending}")
    return out


QUERIES = [
    ("2026-03-01", "2026-04-30", None, {}),  # both months, the previous two empty
    ("2026-04-01", "2026-04-30", None, {}),  # April: March is the previous period
    ("2026-03-01", "2026-03-31", "UTC", {}),  # other days (28 February 23:50 is March in UTC)
    ("2026-03-08", "2026-03-08", None, {}),  # the 23-hour day
    ("2026-03-01", "2026-04-30", None, {"channel": "web"}),
    ("2026-03-01", "2026-04-30", None, {"customer_type": "new"}),
    ("2026-03-01", "2026-04-30", None, {"customer_type": "returning"}),
    ("2026-03-01", "2026-04-30", None, {"customer_type": "guest"}),
    ("2026-03-01", "2026-04-30", None, {"product_type": "sunglasses"}),
    ("2026-03-01", "2026-04-30", "Europe/Berlin", {"vendor": "Ray Works", "channel": "pos"}),
]


def test_every_grouping_matches_the_oracle_to_the_cent(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    owner = register_shop(api_client, settings, NY)
    data = shop_data()
    deliver_shuffled(client, settings, owner, data, seed=11)
    deliver_in_order(client, settings, owner, deletions())
    data += deletions()
    problems = []
    for group_by in ("product", "variant", "product_type", "vendor"):
        for start, end, tz, filters in QUERIES:
            query = {"from": start, "to": end, "group_by": group_by, **filters}
            got = get_report(api_client, owner, **query, **({"tz": tz} if tz else {}))
            expected = products_report(
                data,
                date.fromisoformat(start),
                date.fromisoformat(end),
                tz or NY,
                group_by,
                **filters,
            )
            problems += [f"[{query} {tz}] {p}" for p in compare(expected, got, group_by)]
    assert not problems, "\n".join(problems)


def test_the_rollup_and_the_rows_give_the_same_answer(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    # US/Eastern is New York's zone under another name: the same local days, but not the zone
    # the rollup is bucketed in, so those answers are read from the rows.
    owner = register_shop(api_client, settings, NY)
    deliver_shuffled(client, settings, owner, shop_data(), seed=3)
    assert_the_rollup_reads_as_the_rows(
        api_client, owner, product(("product", "variant", "vendor"), QUERIES)
    )


def assert_the_rollup_reads_as_the_rows(
    api_client: FlaskClient, owner: Account, chosen: Iterable[tuple[str, tuple]]
) -> None:
    """Each (grouping, query) answered from the rollup and, in US/Eastern, from the rows."""
    for group_by, (start, end, _, filters) in chosen:
        query = {"from": start, "to": end, "group_by": group_by, **filters}
        rolled = get_report(api_client, owner, **query)
        read = get_report(api_client, owner, **query, tz="US/Eastern")
        assert (rolled["source"], read["source"]) == ("rollup", "rows")
        for name in ("totals", "items", "top_by_net_sales", "top_by_units", "trending"):
            assert rolled[name] == read[name], (query, name)


# Two months, April against March, and web orders only.
CHOSEN = (QUERIES[0], QUERIES[1], QUERIES[4])


def test_the_rollup_in_memory_follows_every_write_and_a_rebuild(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    # The first answer reads the shop's product rollup into this process's memory; later
    # ones apply only the rows written since: more orders and refunds (out of order, twice),
    # deletions that leave rows all zero, then a rebuild, which deletes the rows and makes the
    # next read a full one. Every answer equals the one read from the rows, and the last the
    # oracle's.
    owner = register_shop(api_client, settings, NY)
    redis_client = redis.Redis.from_url(settings.redis_url)

    def same_as_the_rows() -> None:
        assert_the_rollup_reads_as_the_rows(
            api_client, owner, product(("product", "variant"), CHOSEN)
        )

    everything = sales()
    deliver_shuffled(client, settings, owner, shop_data(everything[: len(everything) // 2]), seed=5)
    same_as_the_rows()
    held = columns.held(owner["tenant_id"])["product_sales_daily"]
    deliver_shuffled(client, settings, owner, shop_data(), seed=6)
    deliver_in_order(client, settings, owner, deletions())
    same_as_the_rows()
    assert columns.held(owner["tenant_id"])["product_sales_daily"] > held
    with session_scope(settings.database_url) as session:
        rebuild(session, owner["tenant_id"])
    bump_versions(redis_client, settings.namespace, [owner["tenant_id"]])
    same_as_the_rows()
    start, end, _, _ = QUERIES[0]
    expected = products_report(
        shop_data() + deletions(), date.fromisoformat(start), date.fromisoformat(end), NY
    )
    assert not compare(
        expected, get_report(api_client, owner, **{"from": start, "to": end}), "product"
    )
    redis_client.close()


def test_the_figures_a_merchant_reads_first(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    # Read off the scenario: the coffee table brings the most net sales, the sunglasses the
    # most units; the leather case has no unit cost, so its profit covers none of its units;
    # a gift card is no product sale.
    owner = register_shop(api_client, settings, NY)
    deliver_in_order(client, settings, owner, shop_data())
    got = get_report(api_client, owner, **{"from": "2026-03-01", "to": "2026-04-30"})
    rows = {key_of("product", i): i for i in got["items"]}
    assert got["currency"] == "USD"
    assert PRODUCT + 4 not in rows  # the gift card
    case = rows[PRODUCT + 3]
    assert case["cost_of_goods_sold"] == "0.00"
    assert case["units_with_cost"] == 0
    assert case["cost_coverage"] == 0.0
    assert key_of("product", got["top_by_net_sales"][0]) == PRODUCT + 2
    assert key_of("product", got["top_by_units"][0]) == PRODUCT + 1
    # Coffee table: 2 available at the first location, 0 at the second.
    table = rows[PRODUCT + 2]
    assert table["available"] == 2
    assert table["sell_through"] == round(table["net_units"] / (table["net_units"] + 2), 4)


def test_items_are_the_first_groups_by_net_sales_up_to_the_limit(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    owner = register_shop(api_client, settings, NY)
    deliver_in_order(client, settings, owner, shop_data())
    query = {"from": "2026-03-01", "to": "2026-04-30"}
    whole = get_report(api_client, owner, **query)
    assert whole["item_count"] == len(whole["items"]) > 2
    first = get_report(api_client, owner, **query, limit="2")
    assert first["item_count"] == whole["item_count"]
    assert first["items"] == whole["items"][:2]
    assert first["totals"] == whole["totals"]  # of every group, not only those listed
    assert first["top_by_net_sales"] == whole["top_by_net_sales"]


# docs/metrics.md, "Products", "A hand-worked example".
EXAMPLE = Sale(
    95,
    ny("2026-03-02 12:00"),
    (
        Line(LINE + 9501, "Aviator sunglasses", "30.00", 2, BLACK, ((0, "6.00"),), None),
        Line(LINE + 9502, "Leather case", "25.00", 1, CASE, tax_rate=None),
    ),
    (),
    (discount(0, "SUNNY6", "6.00", "fixed_amount", selection="explicit"),),
    refunds=(Refund(LINE + 9503, ny("2026-03-09 12:00"), ((LINE + 9501, 1),)),),
    cancelled_at=ny("2026-04-06 12:00"),
)
EXAMPLE_DAYS = {
    "2026-03-02": (2, 0, "60.00", "-6.00", "0.00", "54.00", "24.00", "54.00", "30.00"),
    "2026-03-09": (0, 1, "0.00", "0.00", "-27.00", "-27.00", "-12.00", "-27.00", "-15.00"),
    "2026-04-06": (0, 1, "0.00", "0.00", "-27.00", "-27.00", "-12.00", "-27.00", "-15.00"),
}
EXAMPLE_FIGURES = ("units_sold", "units_returned", "gross_sales", "discounts", "returns",
                   "net_sales", "cost_of_goods_sold", "net_sales_with_cost_recorded",
                   "gross_profit")  # fmt: skip


def test_the_hand_worked_example_of_the_docs(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    owner = register_shop(api_client, settings, NY)
    deliver_in_order(client, settings, owner, shop_data([EXAMPLE]))
    for day, expected in EXAMPLE_DAYS.items():
        got = get_report(api_client, owner, **{"from": day, "to": day})
        glasses = {key_of("product", i): i for i in got["items"]}[PRODUCT + 1]
        assert tuple(glasses[k] for k in EXAMPLE_FIGURES) == expected, day
    sold = get_report(api_client, owner, **{"from": "2026-03-02", "to": "2026-03-02"})
    case = {key_of("product", i): i for i in sold["items"]}[PRODUCT + 3]
    assert (case["units_with_cost"], case["cost_coverage"], case["gross_profit"]) == (
        0,
        0.0,
        "0.00",
    )
    whole = get_report(api_client, owner, **{"from": "2026-03-01", "to": "2026-04-30"})
    rows = {key_of("product", i): i for i in whole["items"]}
    glasses = rows[PRODUCT + 1]
    assert tuple(glasses[k] for k in EXAMPLE_FIGURES) == (
        2, 2, "60.00", "-6.00", "-54.00", "0.00", "0.00", "0.00", "0.00",
    )  # fmt: skip
    assert glasses["refund_rate"] == 1.0
    assert (case["units_with_cost"], case["cost_coverage"], case["gross_profit"]) == (
        0,
        0.0,
        "0.00",
    )


def test_another_shop_is_never_counted(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    # The same Shopify ids in both shops, at other prices and costs in the second.
    orders = [sales()[1], sales()[6], sales()[11]]
    a, b, empty = (register_shop(api_client, settings, z) for z in (NY, "UTC", NY))
    a_data, b_data = shop_data(orders), shop_data([repriced(s, 3) for s in orders], costs=2)
    deliver_shuffled(client, settings, a, a_data, seed=1)
    deliver_shuffled(client, settings, b, b_data, seed=2)
    problems = []
    for account, data, zone in ((a, a_data, NY), (b, b_data, "UTC"), (empty, [], NY)):
        got = get_report(api_client, account, **{"from": "2026-03-01", "to": "2026-04-30"})
        expected = products_report(data, date(2026, 3, 1), date(2026, 4, 30), zone)
        problems += compare(expected, got, "product")
    assert not problems, "\n".join(problems)
    assert (
        get_report(api_client, empty, **{"from": "2026-03-01", "to": "2026-04-30"})["items"] == []
    )


def test_the_report_as_csv(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    owner = register_shop(api_client, settings, NY)
    deliver_in_order(client, settings, owner, shop_data())
    query = {"from": "2026-03-01", "to": "2026-04-30", "group_by": "variant"}
    json_rows = get_report(api_client, owner, **query)["items"]
    response = api_client.get(
        "/api/analytics/products", query_string=query | {"format": "csv"}, headers=owner["headers"]
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == len(json_rows)
    for got, want in zip(rows, json_rows, strict=True):
        for name, value in got.items():
            expected = want[name]
            text = "" if expected is None else str(expected)
            assert value == text, (name, value, expected)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"group_by": "colour"}, "group_by"),
        ({"customer_type": "vip"}, "customer_type"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to"),
        ({"from": "2022-01-01", "to": "2026-03-01"}, "to"),  # over three years
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"vendor": ""}, "vendor"),
        ({"format": "xml"}, "format"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_bad_arguments_answer_400(
    api_client: FlaskClient, owner: dict[str, Any], query: dict[str, str], field: str
) -> None:
    response = api_client.get(
        "/api/analytics/products", query_string=query, headers=owner["headers"]
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert field in body.get("fields", {}), body


def test_the_report_needs_a_token(api_client: FlaskClient) -> None:
    assert api_client.get("/api/analytics/products").status_code == 401
