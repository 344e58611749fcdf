"""The CLV API over a real Celery worker: a fit on demand, the latest fit's answer, each
customer's predictions a page at a time and as CSV, the roles, bad input, another shop, and a
worker killed in the middle of a fit."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from core.settings import Settings
from tests.support import clv_oracle as oracle
from tests.support.accounts import Account, register_shop
from tests.support.clv_scenario import Truth, deliver_once, shop_history
from tests.support.processes import celery_worker

NY = "America/New_York"
TRUTH = Truth(r=1.2, alpha=30.0, a=0.6, b=3.0, p=5.0, q=6.0, v=200.0)
CLV = "/api/analytics/clv"
# The first fit of a fresh install compiles the models' C code: minutes at worst on CI.
FIT_DEADLINE = 300


def tuned(settings: Settings) -> Settings:
    return settings.with_overrides(
        clv_min_history_days=120, clv_min_repeat_customers=20, clv_holdout_days=60
    )


def wait_for_fit(api_client: FlaskClient, account: Account, *, not_id: str | None = None) -> Any:
    """Poll GET /clv until a finished fit other than `not_id` is the answer."""
    deadline = time.monotonic() + FIT_DEADLINE
    while time.monotonic() < deadline:
        body = api_client.get(CLV, headers=account["headers"]).get_json()
        if body["fit"] and body["fit"]["id"] != not_id:
            return body
        time.sleep(0.5)
    raise AssertionError(f"no fit finished: {body}")


def all_pages(api_client: FlaskClient, account: Account, **query: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        args = query | ({"cursor": cursor} if cursor else {})
        response = api_client.get(f"{CLV}/customers", query_string=args, headers=account["headers"])
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.slow
def test_a_fit_on_demand_answers_the_fit_and_every_customers_predictions(
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
    make_owner: Any,
    make_user: Any,
    tmp_path: Path,
) -> None:
    account = register_shop(api_client, settings, NY)
    today = datetime.now(UTC).astimezone(ZoneInfo(NY)).date()
    data = shop_history(7, 100, TRUTH, today, NY)
    deliver_once(client, settings, account, data)
    h = account["headers"]
    assert api_client.get(CLV, headers=h).get_json() == {
        "status": "not_fitted",
        "fit": None,
        "running": None,
    }
    refused = api_client.get(f"{CLV}/customers", headers=h)
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "no_predictions"
    viewer = make_user("analyst", of=account)
    assert api_client.post(f"{CLV}/fit", headers=viewer["headers"]).status_code == 403

    with celery_worker(tuned(settings), tmp_path) as worker:
        started = api_client.post(f"{CLV}/fit", headers=h)
        assert started.status_code == 202, started.get_json()
        task_id = started.get_json()["task_id"]
        body = wait_for_fit(api_client, account)
        assert f"cartwheel.fit_clv[{task_id}]" in worker.output()

    fit = body["fit"]
    expected = oracle.summary(data, NY, datetime.fromisoformat(fit["as_of"]).date())
    assert body["status"] == fit["status"] == "complete" and body["running"] is None
    assert fit["customers"] == len(expected) and fit["currency"] == "USD"
    assert fit["timezone"] == NY and fit["message"] is None
    assert set(fit["parameters"]) == {"bg_nbd", "gamma_gamma"}
    assert set(fit["parameters"]["bg_nbd"]) == {"r", "alpha", "a", "b"}
    assert {"purchases_actual", "purchases_predicted", "purchases_mae", "value_error"} <= set(
        fit["quality"]
    )
    assert fit["quality"]["holdout_days"] == 60

    # Every customer once, by predicted 12-month value, highest first, 7 to a page.
    items = all_pages(api_client, account, limit=7)
    assert sorted(int(i["customer_id"]) for i in items) == sorted(expected)
    values = [Decimal(i["value_12m"]) for i in items]
    assert values == sorted(values, reverse=True)
    assert str(sum(values, Decimal(0))) == fit["distribution"]["value"]["12m"]
    for item in items:
        want = expected[int(item["customer_id"])]
        assert (item["frequency"], item["recency_days"], item["age_days"]) == (
            want["frequency"], want["recency"], want["age"]
        )  # fmt: skip
        assert item["monetary_value"] == (
            None if want["monetary"] is None else str(want["monetary"])
        )
        assert 0 <= item["probability_alive"] <= 1
        assert item["purchases_3m"] <= item["purchases_6m"] <= item["purchases_12m"]
    # Another order, over a float column, ascending.
    alive = all_pages(api_client, account, limit=9, sort="probability_alive")
    assert [i["customer_id"] for i in alive] != [i["customer_id"] for i in items]
    assert sorted(i["customer_id"] for i in alive) == sorted(i["customer_id"] for i in items)
    assert [i["probability_alive"] for i in alive] == sorted(i["probability_alive"] for i in alive)

    exported = api_client.get(f"{CLV}/customers?format=csv", headers=h)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [r["customer_id"] for r in rows] == [i["customer_id"] for i in items]
    assert [r["value_12m"] for r in rows] == [i["value_12m"] for i in items]

    # Another shop sees no fit and no customer of this one.
    other = make_owner()
    assert api_client.get(CLV, headers=other["headers"]).get_json()["status"] == "not_fitted"
    assert api_client.get(f"{CLV}/customers", headers=other["headers"]).status_code == 409


@pytest.mark.slow
def test_a_worker_killed_during_a_fit_leaves_the_previous_fit_and_a_rerun_completes(
    api_client: FlaskClient, client: FlaskClient, settings: Settings, tmp_path: Path
) -> None:
    account = register_shop(api_client, settings, NY)
    today = datetime.now(UTC).astimezone(ZoneInfo(NY)).date()
    deliver_once(client, settings, account, shop_history(3, 80, TRUTH, today, NY))
    h = account["headers"]
    with celery_worker(tuned(settings), tmp_path, name="w1") as worker:
        api_client.post(f"{CLV}/fit", headers=h)
        first = wait_for_fit(api_client, account)["fit"]
        api_client.post(f"{CLV}/fit", headers=h)
        deadline = time.monotonic() + FIT_DEADLINE
        while not api_client.get(CLV, headers=h).get_json()["running"]:
            assert time.monotonic() < deadline, "the second fit never started"
            time.sleep(0.05)
        worker.kill()
    body = api_client.get(CLV, headers=h).get_json()
    assert body["fit"]["id"] == first["id"] and body["status"] == "complete"
    assert body["running"] is not None  # what was started, until a later fit marks it
    page = api_client.get(f"{CLV}/customers", headers=h).get_json()
    assert page["fit_id"] == first["id"] and len(page["items"]) == 50

    with celery_worker(tuned(settings), tmp_path, name="w2"):
        assert api_client.post(f"{CLV}/fit", headers=h).status_code == 202
        again = wait_for_fit(api_client, account, not_id=first["id"])["fit"]
    assert again["status"] == "complete" and again["customers"] == first["customers"]
    assert api_client.get(f"{CLV}/customers", headers=h).get_json()["fit_id"] == again["id"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sort=frequency", "sort"),
        ("limit=0", "limit"),
        ("limit=251", "limit"),
        ("format=xml", "format"),
    ],
)
def test_bad_list_arguments_are_refused_with_400(
    api_client: FlaskClient, owner: dict[str, Any], query: str, field: str
) -> None:
    response = api_client.get(f"{CLV}/customers?{query}", headers=owner["headers"])
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_request" and body["message"]
    assert field in str(body)


def test_the_endpoints_need_a_login(api_client: FlaskClient) -> None:
    for method, path in (("get", CLV), ("post", f"{CLV}/fit"), ("get", f"{CLV}/customers")):
        response = getattr(api_client, method)(path)
        assert response.status_code == 401 and response.get_json()["error"]
