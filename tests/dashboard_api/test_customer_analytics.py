"""Customer analytics proved against a plain-Python reading of docs/metrics.md.

The deliveries go through the real pipeline (receiver, streams, drain, PostgreSQL), every
payload twice and shuffled; the recompute is the analytics job's own function; the oracle
(tests/support/customer_oracle.py) computes every figure from the same payload dicts.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from models.db import session_scope
from tests.support import customer_oracle as oracle
from tests.support.accounts import Account, register_shop
from tests.support.customer_scenario import deliver, generated
from workers.analytics.customers import recompute_tenant

NY = "America/New_York"
# 1 July 2026 in New York: the day the generated histories are scored on.
NOW = datetime(2026, 7, 1, 16, 0, tzinfo=UTC)
AS_OF = date(2026, 7, 1)
COMPARED = (
    "orders", "gross_spend", "refunded", "net_spend", "historical_clv", "average_order_value",
    "first_order_month", "average_days_between_orders", "recency_days", "r_score", "f_score",
    "m_score", "fm_score", "segment", "tags", "known",
)  # fmt: skip


def recompute(settings: Settings, account: Account, now: datetime = NOW) -> None:
    with session_scope(settings.database_url) as session:
        recompute_tenant(session, account["tenant_id"], now)


def get(api_client: FlaskClient, account: Account, path: str, **query: Any) -> Any:
    response = api_client.get(path, query_string=query, headers=account["headers"])
    assert response.status_code == 200, (path, query, response.get_data(as_text=True))
    return response.get_json()


def every_customer(api_client: FlaskClient, account: Account, **query: Any) -> list[Any]:
    """All pages of the customer analytics list."""
    items: list[Any] = []
    cursor = None
    while True:
        page = get(
            api_client, account, "/api/analytics/customers", limit=7,
            **query, **({"cursor": cursor} if cursor else {}),
        )  # fmt: skip
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def differences(expected: dict[str, Any], got: list[Any]) -> list[str]:
    by_id = {item["id"]: item for item in got}
    problems = [f"missing {cid}" for cid in expected.keys() - by_id.keys()]
    problems += [f"unexpected {cid}" for cid in by_id.keys() - expected.keys()]
    for cid in expected.keys() & by_id.keys():
        for name in COMPARED:
            if expected[cid][name] != by_id[cid][name]:
                problems.append(f"{cid} {name}: {expected[cid][name]!r} != {by_id[cid][name]!r}")
    return problems


@pytest.fixture
def history(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> tuple[Account, list[Any]]:
    account = register_shop(api_client, settings, NY)
    data, _ = generated(seed=11)
    deliver(client, settings, account, data, seed=3)
    recompute(settings, account)
    return account, data


def test_every_customer_figure_matches_the_oracle_to_the_cent(
    api_client: FlaskClient, history: tuple[Account, list[Any]]
) -> None:
    account, data = history
    expected = oracle.customers(data, AS_OF, NY)
    got = every_customer(api_client, account)
    assert not differences(expected, got), "\n".join(differences(expected, got))
    # The scenario has what the definitions are about.
    segments = {item["segment"] for item in got}
    assert {"prospects"} < segments and len(segments) >= 5
    assert any(not item["known"] for item in got)  # the deleted customer still counts
    assert any(item["refunded"] != "0.00" for item in got)


def test_rfm_segments_and_cohorts_match_the_oracle(
    api_client: FlaskClient, history: tuple[Account, list[Any]]
) -> None:
    account, data = history
    rfm = get(api_client, account, "/api/analytics/rfm")
    assert rfm["as_of"] == AS_OF.isoformat()
    got = {s["segment"]: {"customers": s["customers"], "net_spend": s["net_spend"]}
           for s in rfm["segments"]}  # fmt: skip
    assert got == oracle.rfm(data, AS_OF, NY)
    answer = get(
        api_client, account, "/api/analytics/cohorts", **{"from": "2025-11-01", "to": "2026-06-30"}
    )
    cohorts = {c["month"]: {m["months_since"]: m for m in c["months"]} for c in answer["cohorts"]}
    expected = oracle.cohorts(data, NY)
    assert cohorts == expected
    for c in answer["cohorts"]:
        assert c["customers"] == expected[c["month"]][0]["customers"]
    assert answer["returning_customers"] == oracle.returning(
        data, date(2025, 11, 1), date(2026, 6, 30), NY
    )


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-03-01", "2026-03-31"), ("2026-03-08", "2026-03-08"), ("2026-02-01", "2026-05-31")],
)
def test_the_returning_customer_rate_of_a_range(
    api_client: FlaskClient, history: tuple[Account, list[Any]], start: str, end: str
) -> None:
    account, data = history
    answer = get(api_client, account, "/api/analytics/cohorts", **{"from": start, "to": end})
    expected = oracle.returning(data, date.fromisoformat(start), date.fromisoformat(end), NY)
    assert answer["returning_customers"] == expected
    months = {c["month"] for c in answer["cohorts"]}
    assert all(start[:7] <= m[:7] <= end[:7] for m in months)


def test_the_returning_customer_rate_of_every_range_of_a_grid(
    api_client: FlaskClient, history: tuple[Account, list[Any]]
) -> None:
    """Ranges starting and ending on every month edge, mid-month and the DST days: the packed
    first and second order days must count exactly as the orders do."""
    account, data = history
    days = sorted(
        {date(2025, m, d) for m in range(1, 13) for d in (1, 8, 15, 28)}
        | {date(2026, m, d) for m in range(1, 8) for d in (1, 8, 15, 28)}
        | {date(2026, 3, 7), date(2026, 3, 9), date(2025, 11, 1), date(2025, 11, 2)}
    )
    ranges = [(a, b) for i, a in enumerate(days) for b in days[i::5]]
    for start, end in ranges:
        answer = get(api_client, account, "/api/analytics/cohorts", **{"from": start, "to": end})[
            "returning_customers"
        ]
        assert answer == oracle.returning(data, start, end, NY), (start, end)


@pytest.mark.parametrize(
    "query",
    [
        {"segment": "at_risk"},
        {"segment": "prospects"},
        {"customer_type": "new"},
        {"customer_type": "returning"},
        {"tag": "vip"},
        {"tag": "WholeSale"},
        {"first_order_from": "2026-02-01", "first_order_to": "2026-03-31"},
        {"min_net_spend": "100", "max_net_spend": "400.50"},
    ],
    ids=lambda q: "-".join(q),
)
def test_filters_keep_exactly_the_matching_customers(
    api_client: FlaskClient, history: tuple[Account, list[Any]], query: dict[str, str]
) -> None:
    account, data = history
    expected = oracle.customers(data, AS_OF, NY)

    def keeps(item: dict[str, Any]) -> bool:
        first, spend = item.get("first_order_at"), Decimal(item["net_spend"])
        day = first.astimezone(ZoneInfo(NY)).date().isoformat() if first else None
        kind = query.get("customer_type")
        checks = [
            item["segment"] == query.get("segment", item["segment"]),
            kind != "new" or item["orders"] == 1,
            kind != "returning" or item["orders"] > 1,
            "tag" not in query or query["tag"].lower() in item["tags"],
            "first_order_from" not in query or (day or "") >= query["first_order_from"],
            "first_order_to" not in query or (day or "9") <= query["first_order_to"],
            "min_net_spend" not in query or spend >= Decimal(query["min_net_spend"]),
            "max_net_spend" not in query or spend <= Decimal(query["max_net_spend"]),
        ]
        return all(checks)

    kept = {cid for cid, item in expected.items() if keeps(item)}
    got = every_customer(api_client, account, **query)
    assert {item["id"] for item in got} == kept
    assert kept  # each filter keeps someone in this scenario


@pytest.mark.parametrize(
    "sort", ["-net_spend", "net_spend", "orders", "-last_order_at", "first_order_at"]
)
def test_pages_follow_the_sort_and_cover_every_customer_once(
    api_client: FlaskClient, history: tuple[Account, list[Any]], sort: str
) -> None:
    account, data = history
    got = every_customer(api_client, account, sort=sort)
    assert len({item["id"] for item in got}) == len(got) == len(oracle.customers(data, AS_OF, NY))
    name = sort.lstrip("-")
    values = [item[name] for item in got]
    present = [Decimal(v) if "spend" in name else v for v in values if v is not None]
    assert present == sorted(present, reverse=sort.startswith("-"))
    # NULLs (prospects have no orders) sort as the highest value.
    nulls = [n for n, v in enumerate(values) if v is None]
    if nulls:
        assert (
            nulls == list(range(len(nulls)))
            if sort.startswith("-")
            else nulls[-1] == len(values) - 1
        )


def test_each_customer_with_each_order_new_or_returning(
    api_client: FlaskClient, history: tuple[Account, list[Any]]
) -> None:
    account, data = history
    expected = oracle.customers(data, AS_OF, NY)
    cancelled = 0
    for cid, item in expected.items():
        answer = get(api_client, account, f"/api/customers/{cid}/analytics")
        assert {k: answer[k] for k in COMPARED} == {k: item[k] for k in COMPARED}
        got = [
            {
                "id": o["id"],
                "customer_type": o["customer_type"],
                "cancelled": o["cancelled_at"] is not None,
                "total_price": o["total_price"],
            }
            for o in answer["order_history"]
        ]
        assert got == oracle.order_history(data, int(cid)), cid
        cancelled += sum(o["cancelled"] for o in got)
    assert cancelled  # cancelled orders are typed too


def test_each_shop_sees_only_its_own_customers(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    # The same customer and order ids in both shops, with other histories.
    a, b, empty = (register_shop(api_client, settings, zone) for zone in (NY, "UTC", NY))
    a_data, _ = generated(seed=1, customers=8)
    b_data, _ = generated(seed=2, customers=8)
    deliver(client, settings, a, a_data, seed=1)
    deliver(client, settings, b, b_data, seed=2)
    for account in (a, b, empty):
        recompute(settings, account)
    as_of_b = NOW.date()
    assert not differences(oracle.customers(a_data, AS_OF, NY), every_customer(api_client, a))
    assert not differences(oracle.customers(b_data, as_of_b, "UTC"), every_customer(api_client, b))
    assert every_customer(api_client, empty) == []
    rfm = get(api_client, empty, "/api/analytics/rfm")
    assert rfm["customers"] == 0 and all(s["customers"] == 0 for s in rfm["segments"])
    cohorts = get(
        api_client, empty, "/api/analytics/cohorts", **{"from": "2025-11-01", "to": "2026-06-30"}
    )
    assert cohorts["cohorts"] == [] and cohorts["returning_customers"]["customers"] == 0
    some = next(iter(oracle.customers(a_data, AS_OF, NY)))
    response = api_client.get(f"/api/customers/{some}/analytics", headers=empty["headers"])
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "sort=email",
        "segment=vips",
        "customer_type=old",
        "first_order_from=2026-13-01",
        "first_order_from=2026-05-01&first_order_to=2026-04-01",
        "min_net_spend=abc",
        "min_net_spend=50&max_net_spend=10",
        "limit=0",
        "cursor=not-a-cursor",
        "tag=",
    ],
)
def test_bad_list_arguments_answer_400(api_client: FlaskClient, owner: Account, query: str) -> None:
    response = api_client.get(f"/api/analytics/customers?{query}", headers=owner["headers"])
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == "invalid_request" and body["message"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/analytics/cohorts?from=2026-05-01&to=2026-04-01",
        "/api/analytics/cohorts?from=2020-01-01&to=2026-04-01",
        "/api/analytics/cohorts?from=someday",
        "/api/analytics/rfm/movement?from=2026-05-01&to=2026-04-01",
    ],
)
def test_bad_ranges_answer_400(api_client: FlaskClient, owner: Account, path: str) -> None:
    response = api_client.get(path, headers=owner["headers"])
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("key", ["12x", "99999999999999999999", "0"])
def test_unknown_customers_answer_404(api_client: FlaskClient, owner: Account, key: str) -> None:
    response = api_client.get(f"/api/customers/{key}/analytics", headers=owner["headers"])
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_movement_without_snapshots_is_a_clear_404(api_client: FlaskClient, owner: Account) -> None:
    response = api_client.get(
        "/api/analytics/rfm/movement?from=2026-01-01", headers=owner["headers"]
    )
    assert response.status_code == 404
    assert response.get_json()["error"] == "no_snapshot"


def test_the_endpoints_need_a_token(api_client: FlaskClient) -> None:
    for path in ("/api/analytics/customers", "/api/analytics/rfm", "/api/analytics/cohorts"):
        assert api_client.get(path).status_code == 401
    assert api_client.post("/api/analytics/recompute").status_code == 401


def test_recompute_is_for_owners_and_admins(api_client: FlaskClient, make_user: Any) -> None:
    viewer = make_user("analyst")
    response = api_client.post("/api/analytics/recompute", headers=viewer["headers"])
    assert response.status_code == 403


@pytest.mark.parametrize("query", [{}, {"customer_type": "returning", "sort": "orders"}])
def test_the_list_as_csv_is_every_matching_customer_in_order(
    api_client: FlaskClient, history: tuple[Account, list[Any]], query: dict[str, str]
) -> None:
    account, data = history
    response = api_client.get(
        "/api/analytics/customers",
        query_string={"format": "csv", **query},
        headers=account["headers"],
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    items = every_customer(api_client, account, **query)
    assert [r["id"] for r in rows] == [i["id"] for i in items]
    expected = oracle.customers(data, AS_OF, NY)
    for row in rows:
        for name in ("orders", "net_spend", "refunded", "segment", "r_score", "fm_score"):
            want = expected[row["id"]][name]
            assert row[name] == ("" if want is None else str(want)), (row["id"], name)
