"""The sales report and insights as CSV (the JSON's own figures, day by day), and the cached
RFM movement and cohorts: served from Redis until the shop's data version moves, which the
analytics recompute task moves, and never to another shop."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from sqlalchemy import text

from core.settings import Settings
from core.versions import tenant_version
from dashboard_api import cache
from models.db import session_scope
from tests.support.accounts import register_shop
from tests.support.customer_scenario import deliver as deliver_history
from tests.support.customer_scenario import hand_worked
from tests.support.processes import celery_worker
from tests.support.shop_builders import deliver, order
from tests.support.webhooks import Sender
from workers.analytics.customers import recompute_tenant

RANGE = {"from": "2026-01-10", "to": "2026-01-12", "tz": "UTC"}
JUNE_30 = datetime(2026, 6, 30, 18, 0, tzinfo=UTC)
MOVEMENT, COHORTS = "/api/analytics/rfm/movement", "/api/analytics/cohorts"
COHORT_RANGE = {"from": "2026-04-01", "to": "2026-06-30"}


def _refund(order_id: int, refund_id: int, *, line_id: int, amount: str, at: str) -> dict[str, Any]:
    """A refund of one unit of a line, money back in full."""
    money = {"amount": amount, "currency_code": "EUR"}
    return {
        "id": refund_id, "order_id": order_id, "created_at": at, "processed_at": at,
        "refund_line_items": [
            {"id": refund_id + 1, "line_item_id": line_id, "quantity": 1,
             "restock_type": "return", "subtotal": float(amount),
             "subtotal_set": {"shop_money": money, "presentment_money": money}, "total_tax": 0}
        ],
        "transactions": [
            {"id": refund_id + 2, "order_id": order_id, "kind": "refund", "status": "success",
             "amount": amount, "currency": "EUR"}
        ],
    }  # fmt: skip


@pytest.fixture
def shop(owner: dict[str, Any], client: FlaskClient, settings: Settings) -> dict[str, Any]:
    sender = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    deliver(
        sender,
        settings,
        ("orders/create", order(1, total="100.00", at="2026-01-10T12:00:00Z")),
        ("orders/create", order(2, total="40.05", at="2026-01-10T13:00:00Z")),
        ("orders/create", order(3, total="19.99", at="2026-01-11T13:00:00Z")),
        ("refunds/create", _refund(1, 7000, line_id=11, amount="30.01", at="2026-01-12T09:00:00Z")),
    )
    return owner


def _csv(response: Any) -> tuple[list[str], list[dict[str, str]]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def _as_cells(row: dict[str, Any]) -> dict[str, str]:
    """A JSON row as its CSV cells: text as it is, numbers in digits, null empty."""
    return {k: "" if v is None else str(v) for k, v in row.items()}


def test_the_sales_report_as_csv_is_the_json_report_day_by_day(
    shop: dict[str, Any], api_client: FlaskClient
) -> None:
    path, h = "/api/reports/sales", shop["headers"]
    report = api_client.get(path, query_string=RANGE, headers=h).get_json()
    response = api_client.get(path, query_string=RANGE | {"format": "csv"}, headers=h)
    header, rows = _csv(response)
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="sales-report-2026-01-10-2026-01-12.csv"'
    )
    assert response.headers["X-Cache"] == "hit"  # the JSON answer's own cached figures
    assert header[0] == "date" and set(header) == set(report["days"][0])
    assert rows == [_as_cells(day) for day in report["days"]]
    by_day = {row["date"]: row for row in rows}
    assert (by_day["2026-01-10"]["orders"], by_day["2026-01-10"]["gross_sales"]) == ("2", "140.05")
    assert by_day["2026-01-10"]["average_order_value"] == "70.03"  # half up, to the cent
    assert by_day["2026-01-11"]["net_sales"] == "19.99"
    assert (by_day["2026-01-12"]["orders"], by_day["2026-01-12"]["returns"]) == ("0", "-30.01")
    assert by_day["2026-01-12"]["average_order_value"] == ""
    # Asked by the Accept header alone, the same file.
    accepted = api_client.get(path, query_string=RANGE, headers=h | {"Accept": "text/csv"})
    assert accepted.get_data() == response.get_data()


@pytest.mark.parametrize("shopify", [False, True])
def test_insights_as_csv_are_the_revenue_by_day_of_the_json(
    shop: dict[str, Any], api_client: FlaskClient, shopify: bool
) -> None:
    query = RANGE | ({"shopify": "true"} if shopify else {})
    h = shop["headers"]
    insights = api_client.get("/api/insights", query_string=query, headers=h).get_json()
    response = api_client.get("/api/insights", query_string=query | {"format": "csv"}, headers=h)
    header, rows = _csv(response)
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="insights-revenue-by-day-2026-01-10-2026-01-12.csv"'
    )
    days = insights["revenue_by_day"]
    assert set(header) == set(days[0]) and ("shopify_net_sales" in header) is shopify
    assert rows == [_as_cells(day) for day in days]
    assert [row["date"] for row in rows] == ["2026-01-10", "2026-01-11", "2026-01-12"]
    assert rows[0]["gross_sales"] == "140.05" and rows[1]["net_sales"] == "19.99"
    if shopify:
        assert rows[2]["shopify_net_sales"] == "-30.01"


@pytest.mark.parametrize("path", ["/api/reports/sales", "/api/insights"])
@pytest.mark.parametrize(
    "query",
    [
        {"format": "xlsx"},
        {"format": "csv", "from": "2026-01-12", "to": "2026-01-10"},
        {"format": "csv", "from": "someday"},
        {"format": "csv", "tz": "Mars/Olympus"},
    ],
)
def test_bad_csv_arguments_get_the_json_error_of_the_json_form(
    shop: dict[str, Any], api_client: FlaskClient, path: str, query: dict[str, str]
) -> None:
    response = api_client.get(path, query_string=query, headers=shop["headers"])
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.get_json()["error"] == "invalid_request"
    if query["format"] == "csv":
        as_json = api_client.get(
            path, query_string=query | {"format": "json"}, headers=shop["headers"]
        )
        assert (as_json.status_code, as_json.get_json()) == (400, response.get_json())
    else:
        assert "format" in response.get_json()["fields"]


def _get(api_client: FlaskClient, account: dict[str, Any], path: str, **query: str) -> Any:
    response = api_client.get(path, query_string=query, headers=account["headers"])
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.headers["X-Cache"], response.get_json()


def _cohort_sizes(answer: dict[str, Any]) -> dict[str, int]:
    return {c["month"]: c["customers"] for c in answer["cohorts"]}


def test_movement_and_cohorts_are_cached_until_the_recompute_task_runs(
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
    redis_client: redis.Redis,
    tmp_path: Path,
) -> None:
    account = register_shop(api_client, settings, "UTC")
    tenant = account["tenant_id"]
    data, _ = hand_worked()
    deliver_history(client, settings, account, data, seed=5)
    with session_scope(settings.database_url) as session:
        recompute_tenant(session, tenant, JUNE_30)
    version = tenant_version(redis_client, settings.namespace, tenant)
    today = datetime.now(UTC).date().isoformat()

    state, moved = _get(api_client, account, MOVEMENT, **{"from": "2026-06-30"})
    assert state == "miss" and moved["to_snapshot"] == "2026-06-30"
    state, cohorts = _get(api_client, account, COHORTS, **COHORT_RANGE)
    assert state == "miss" and cohorts["as_of"] == "2026-06-30"
    assert _cohort_sizes(cohorts) == {"2026-04-01": 3, "2026-05-01": 2, "2026-06-01": 1}
    for kind, parts in (
        ("rfm-movement", ("2026-06-30", today)),
        ("cohorts", ("2026-04-01", "2026-06-30", "UTC")),
    ):
        assert redis_client.exists(cache.answer_key(settings, tenant, version, kind, parts))

    # The cohorts change underneath without a version bump: the cached answer stands.
    with session_scope(settings.database_url) as session:
        session.execute(
            text("UPDATE cohort_cells SET customers = customers + 100 WHERE tenant_id = :t"),
            {"t": tenant},
        )
    assert _get(api_client, account, COHORTS, **COHORT_RANGE) == ("hit", cohorts)
    assert _get(api_client, account, MOVEMENT, **{"from": "2026-06-30"}) == ("hit", moved)
    # A range not yet asked for reads the rows as they are.
    _, fresh = _get(api_client, account, COHORTS, **{"from": "2026-05-01", "to": "2026-06-30"})
    assert _cohort_sizes(fresh) == {"2026-05-01": 102, "2026-06-01": 101}

    # Another shop asking the same questions gets its own answers.
    other = register_shop(api_client, settings, "UTC")
    nothing = api_client.get(
        MOVEMENT, query_string={"from": "2026-06-30"}, headers=other["headers"]
    )
    assert nothing.status_code == 404 and nothing.get_json()["error"] == "no_snapshot"
    state, empty = _get(api_client, other, COHORTS, **COHORT_RANGE)
    assert state == "miss" and empty["cohorts"] == [] and empty["as_of"] is None

    with celery_worker(settings, tmp_path, concurrency=1):
        started = api_client.post("/api/analytics/recompute", headers=account["headers"])
        assert started.status_code == 202, started.get_json()
        deadline = time.monotonic() + 60
        while tenant_version(redis_client, settings.namespace, tenant) == version:
            assert time.monotonic() < deadline, "the recompute did not bump the version"
            time.sleep(0.2)

    # Recomputed today: a new snapshot, the cohorts rebuilt from the orders.
    state, moved = _get(api_client, account, MOVEMENT, **{"from": "2026-06-30"})
    assert state == "miss" and moved["to_snapshot"] == today
    assert moved["from_snapshot"] == "2026-06-30"
    state, cohorts = _get(api_client, account, COHORTS, **COHORT_RANGE)
    assert state == "miss" and cohorts["as_of"] == today
    assert _cohort_sizes(cohorts) == {"2026-04-01": 3, "2026-05-01": 2, "2026-06-01": 1}
    assert _get(api_client, account, COHORTS, **COHORT_RANGE) == ("hit", cohorts)
