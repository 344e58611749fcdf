"""shop/update end to end: receiver, drain, compliance job, the rollup rebuild on a real worker.

A shop that moves to another time zone gets its daily rollups rebuilt in the new zone; until
then the reports answer from the rows, so the sales report is the same before and after.
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, text

from core import jobs
from core.settings import Settings
from models import ComplianceAction, Tenant, WebhookEvent
from models.db import session_scope
from tests.support.accounts import Account, register_shop
from tests.support.lifecycle_data import compliance_body
from tests.support.pipeline import drain_all
from tests.support.processes import celery_worker, send_task
from tests.support.rollup_rows import kept_and_rebuilt
from tests.support.sales_scenario import deliveries_of, sales
from tests.support.webhooks import Sender
from workers.analytics.tasks import zone_changed
from workers.compliance.actions import act_on_recorded_events
from workers.runtime import Resources

NY = "America/New_York"
DROP = object()  # a field left out of the body
# Sale 1 is placed at 23:50 on 28 February in New York: 1 March (04:50) in UTC.
MARCH = {"from": "2026-02-28", "to": "2026-03-31"}


def sender(client: FlaskClient, account: Account) -> Sender:
    return Sender(client, shop=account["shop"], secret=account["webhook_secret"])


def utc_shop_with_sales(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> Account:
    """A shop registered in UTC whose March sales went through the pipeline."""
    account = register_shop(api_client, settings, "UTC")
    out = sender(client, account)
    for topic, payload in deliveries_of(sales()[:4]):
        assert out.send(topic, payload).status_code == 200
    drain_all(settings)
    assert zone_of_rollups(settings, account["tenant_id"]) == "UTC"
    return account


def update_shop(
    client: FlaskClient, settings: Settings, account: Account, body: dict[str, Any]
) -> str:
    """Deliver a shop/update and let the compliance job act on it."""
    webhook_id = str(uuid.uuid4())
    response = sender(client, account).send("shop/update", body, webhook_id=webhook_id)
    assert response.status_code == 200, response.get_json()
    drain_all(settings)
    act_on_recorded_events(Resources(settings))
    return webhook_id


def report(api_client: FlaskClient, account: Account, **query: str) -> dict[str, Any]:
    response = api_client.get(
        "/api/reports/sales", query_string=MARCH | query, headers=account["headers"]
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def zone_of_rollups(settings: Settings, tenant_id: uuid.UUID) -> str | None:
    with session_scope(settings.database_url) as s:
        return s.scalar(text("SELECT tz FROM rollup_zones WHERE tenant_id = :t"), {"t": tenant_id})


def shop_zone(settings: Settings, tenant_id: uuid.UUID) -> str | None:
    with session_scope(settings.database_url) as s:
        return s.scalar(select(Tenant.timezone).where(Tenant.id == tenant_id))


def days(settings: Settings, tenant_id: uuid.UUID) -> set[date]:
    with session_scope(settings.database_url) as s:
        rows = s.scalars(text("SELECT day FROM sales_daily WHERE tenant_id = :t"), {"t": tenant_id})
        return set(rows)


def action_of(settings: Settings, tenant_id: uuid.UUID, webhook_id: str) -> ComplianceAction:
    with session_scope(settings.database_url) as s:
        action = s.get(ComplianceAction, (tenant_id, webhook_id))
        assert action is not None
        return action


def wait_for_zone(settings: Settings, tenant_id: uuid.UUID, zone: str) -> str | None:
    deadline = time.monotonic() + 60
    while (found := zone_of_rollups(settings, tenant_id)) != zone and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


def test_a_new_zone_is_taken_and_the_rollups_are_rebuilt_in_it(
    api_client: FlaskClient, client: FlaskClient, settings: Settings, tmp_path: Path
) -> None:
    account = utc_shop_with_sales(api_client, client, settings)
    tid = account["tenant_id"]
    asked_in_ny = report(api_client, account, tz=NY)
    assert asked_in_ny["totals"]["orders"] == 4
    assert asked_in_ny != report(api_client, account)  # the days differ: UTC's are the shop's
    assert date(2026, 2, 28) not in days(settings, tid)  # UTC days: sale 1 is on 1 March

    webhook_id = update_shop(
        client, settings, account, compliance_body("shop_update", account["shop"])
    )

    assert shop_zone(settings, tid) == NY
    done = action_of(settings, tid, webhook_id)
    assert (done.action, done.outcome, done.detail) == (
        "update_shop",
        "done",
        {"timezone_was": "UTC", "timezone": NY},
    )
    # Before the rebuild: the rollups are still in UTC; the reports answer from the rows.
    assert zone_of_rollups(settings, tid) == "UTC"
    assert zone_changed_tenants(settings) == [tid]
    assert report(api_client, account) == report(api_client, account, tz=NY) == asked_in_ny

    # The rebuild the compliance job queued after its commit, run by a real worker.
    with celery_worker(settings, tmp_path, concurrency=1) as worker:
        assert wait_for_zone(settings, tid, NY) == NY
        log = worker.output()
    assert f"Task {jobs.REBUILD_ROLLUPS}[" in log
    kept, fresh = kept_and_rebuilt(settings, tid)
    assert kept == fresh and kept["sales_daily"]
    assert date(2026, 2, 28) in days(settings, tid)  # New York days now
    assert zone_changed_tenants(settings) == []
    assert report(api_client, account) == report(api_client, account, tz=NY) == asked_in_ny


def zone_changed_tenants(settings: Settings) -> list[uuid.UUID]:
    with session_scope(settings.database_url) as s:
        return zone_changed(s)


def test_the_same_zone_again_changes_nothing(
    api_client: FlaskClient, client: FlaskClient, settings: Settings
) -> None:
    account = utc_shop_with_sales(api_client, client, settings)
    tid = account["tenant_id"]
    before = kept_and_rebuilt(settings, tid)[0]
    body = compliance_body("shop_update", account["shop"], iana_timezone="UTC")
    webhook_id = update_shop(client, settings, account, body)

    done = action_of(settings, tid, webhook_id)
    assert (done.outcome, done.detail) == ("done", {"timezone": "UTC", "unchanged": True})
    assert shop_zone(settings, tid) == zone_of_rollups(settings, tid) == "UTC"
    assert kept_and_rebuilt(settings, tid)[0] == before


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"iana_timezone": DROP}, "no iana_timezone"),
        ({"iana_timezone": None}, "no iana_timezone"),
        ({"iana_timezone": "Mars/Olympus"}, "not a known time zone"),
        ({"iana_timezone": "UTC+3"}, "not a known time zone"),  # PostgreSQL's POSIX form only
        ({"iana_timezone": "../../etc/passwd"}, "not a known time zone"),
        ({"myshopify_domain": "someone-else.myshopify.com"}, "another shop"),
    ],
)
def test_a_bad_shop_update_is_rejected_and_changes_nothing(
    api_client: FlaskClient,
    client: FlaskClient,
    settings: Settings,
    changes: dict[str, Any],
    reason: str,
) -> None:
    account = utc_shop_with_sales(api_client, client, settings)
    tid = account["tenant_id"]
    before = kept_and_rebuilt(settings, tid)[0]
    asked = report(api_client, account)
    body = compliance_body("shop_update", account["shop"], **changes)
    body = {k: v for k, v in body.items() if v is not DROP}
    webhook_id = update_shop(client, settings, account, body)

    refused = action_of(settings, tid, webhook_id)
    assert refused.outcome == "rejected" and reason in (refused.reason or "")
    with session_scope(settings.database_url) as s:
        stored = s.get(WebhookEvent, (tid, webhook_id))
        assert stored is not None and stored.status == "rejected"
    assert shop_zone(settings, tid) == zone_of_rollups(settings, tid) == "UTC"
    assert kept_and_rebuilt(settings, tid)[0] == before
    assert report(api_client, account) == asked


def test_the_nightly_run_rebuilds_a_shop_whose_rebuild_was_missed(
    api_client: FlaskClient, client: FlaskClient, settings: Settings, tmp_path: Path
) -> None:
    account = utc_shop_with_sales(api_client, client, settings)
    tid = account["tenant_id"]
    # The zone changed, but the rebuild's message was lost (here: never sent).
    with session_scope(settings.database_url) as s:
        s.execute(text("UPDATE tenants SET timezone = :tz WHERE id = :t"), {"tz": NY, "t": tid})
    with celery_worker(settings, tmp_path, concurrency=1):
        send_task(settings, jobs.ANALYTICS_ALL)
        assert wait_for_zone(settings, tid, NY) == NY
    kept, fresh = kept_and_rebuilt(settings, tid)
    assert kept == fresh and date(2026, 2, 28) in days(settings, tid)
