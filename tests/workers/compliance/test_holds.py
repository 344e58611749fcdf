"""Erasure requests a forger can sign (shop/redact, customers/redact) wait for the owner's word."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cartwheel.cli import main
from core.settings import Settings
from models import ComplianceAction, Customer, Tenant, User, WebhookEvent
from models.db import session_scope
from tests.support.lifecycle_data import compliance_body, send
from tests.support.samples import sample_json
from tests.support.webhooks import Sender
from workers.compliance.actions import act_on_recorded_events
from workers.runtime import Resources

JOHN_ID = 191167  # the customer in Shopify's compliance samples


def forged(client: FlaskClient, owner: dict[str, Any], topic: str, name: str) -> str:
    """A delivery signed with the shop's webhook secret by someone who is not Shopify."""
    webhook_id = str(uuid.uuid4())
    sender = Sender(client, shop=owner["shop"], secret=owner["webhook_secret"])
    body = compliance_body(name, owner["shop"])
    assert sender.send(topic, body, webhook_id=webhook_id).status_code == 200
    return webhook_id


def tenant_exists(settings: Settings, tenant_id: str) -> bool:
    with session_scope(settings.database_url) as s:
        return s.get(Tenant, uuid.UUID(tenant_id)) is not None


def john_email(settings: Settings, tenant_id: str) -> str | None:
    with session_scope(settings.database_url) as s:
        return s.scalar(
            select(Customer.email).where(
                Customer.tenant_id == uuid.UUID(tenant_id), Customer.shopify_id == JOHN_ID
            )
        )


def with_john(client: FlaskClient, settings: Settings, owner: dict[str, Any]) -> None:
    body = sample_json("customers_create")
    body.update(id=JOHN_ID, email="john@example.com")
    send(Sender(client, shop=owner["shop"], secret=owner["webhook_secret"]), settings,
         ("customers/create", body))  # fmt: skip
    assert john_email(settings, owner["tenant_id"]) == "john@example.com"


def test_a_forged_shop_redact_erases_nothing_until_the_owner_confirms(
    client: FlaskClient,
    api_client: FlaskClient,
    settings: Settings,
    owner: dict[str, Any],
    make_user: Callable[..., dict[str, Any]],
) -> None:
    with_john(client, settings, owner)
    webhook_id = forged(client, owner, "shop/redact", "shop_redact")
    send(Sender(client, shop=owner["shop"], secret=owner["webhook_secret"]), settings)
    [held] = act_on_recorded_events(Resources(settings))
    assert (held.action, held.outcome) == ("erase_shop", "held")
    assert act_on_recorded_events(Resources(settings)) == []  # waits; no second hold

    # Nothing is erased: the tenant, its owner and its data are all still there.
    assert tenant_exists(settings, owner["tenant_id"])
    assert john_email(settings, owner["tenant_id"]) == "john@example.com"
    assert api_client.get("/api/me", headers=owner["headers"]).status_code == 200

    listed = api_client.get("/api/compliance/holds", headers=owner["headers"])
    [item] = listed.get_json()["items"]
    assert (item["webhook_id"], item["topic"], item["decision"]) == (
        webhook_id,
        "shop/redact",
        None,
    )
    with session_scope(settings.database_url) as s:
        received = s.get(WebhookEvent, (uuid.UUID(owner["tenant_id"]), webhook_id))
        assert received is not None and received.status == "held"
        received_at = received.received_at
    assert item["deadline_at"] == (received_at + timedelta(days=30)).isoformat()
    assert item["overdue"] is False

    # Only the owner decides; an admin (who could have known the secret) may not.
    admin = make_user("admin")
    confirm = f"/api/compliance/holds/{webhook_id}/confirm"
    assert api_client.post(confirm, headers=admin["headers"]).status_code == 403
    assert act_on_recorded_events(Resources(settings)) == []
    assert tenant_exists(settings, owner["tenant_id"])

    confirmed = api_client.post(confirm, headers=owner["headers"])
    assert confirmed.status_code == 200 and confirmed.get_json()["decision"] == "confirmed"
    assert api_client.post(confirm, headers=owner["headers"]).status_code == 404  # decided
    [done] = act_on_recorded_events(Resources(settings))
    assert (done.action, done.outcome) == ("erase_shop", "done")
    assert not tenant_exists(settings, owner["tenant_id"])


def test_a_rejected_customer_redact_erases_nothing(
    client: FlaskClient, api_client: FlaskClient, settings: Settings, owner: dict[str, Any]
) -> None:
    with_john(client, settings, owner)
    webhook_id = forged(client, owner, "customers/redact", "customers_redact")
    send(Sender(client, shop=owner["shop"], secret=owner["webhook_secret"]), settings)
    [held] = act_on_recorded_events(Resources(settings))
    assert (held.outcome, held.customer_id) == ("held", JOHN_ID)
    assert john_email(settings, owner["tenant_id"]) == "john@example.com"

    rejected = api_client.post(
        f"/api/compliance/holds/{webhook_id}/reject", headers=owner["headers"]
    )
    assert rejected.status_code == 200 and rejected.get_json()["decision"] == "rejected"
    [done] = act_on_recorded_events(Resources(settings))
    assert (done.action, done.outcome) == ("redact_customer", "rejected")
    assert john_email(settings, owner["tenant_id"]) == "john@example.com"
    tenant_id = uuid.UUID(owner["tenant_id"])
    with session_scope(settings.database_url) as s:
        ev = s.get(WebhookEvent, (tenant_id, webhook_id))
        assert ev is not None and ev.status == "rejected"
        action = s.get(ComplianceAction, (tenant_id, webhook_id))
        assert action is not None and action.outcome == "rejected"
    assert act_on_recorded_events(Resources(settings)) == []


def test_an_unknown_hold_is_a_json_404(api_client: FlaskClient, owner: dict[str, Any]) -> None:
    response = api_client.post(
        f"/api/compliance/holds/{uuid.uuid4()}/confirm", headers=owner["headers"]
    )
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_an_operator_confirms_a_hold_from_the_command_line(
    client: FlaskClient, settings: Settings, owner: dict[str, Any]
) -> None:
    """For a shop whose owner is gone (the app uninstalled): the operator decides."""
    with_john(client, settings, owner)
    webhook_id = forged(client, owner, "customers/redact", "customers_redact")
    send(Sender(client, shop=owner["shop"], secret=owner["webhook_secret"]), settings)
    act_on_recorded_events(Resources(settings))
    runner = CliRunner()
    listed = runner.invoke(main, ["tenants", "holds"], env=settings.to_env())
    assert listed.exit_code == 0 and webhook_id in listed.output and "waiting" in listed.output
    confirmed = runner.invoke(
        main, ["tenants", "confirm-hold", owner["shop"], webhook_id], env=settings.to_env()
    )
    assert confirmed.exit_code == 0, confirmed.output
    again = runner.invoke(
        main, ["tenants", "confirm-hold", owner["shop"], webhook_id], env=settings.to_env()
    )
    assert again.exit_code != 0 and "no undecided hold" in again.output
    [done] = act_on_recorded_events(Resources(settings))
    assert (done.action, done.outcome) == ("redact_customer", "done")
    assert john_email(settings, owner["tenant_id"]) is None
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(func.count()).select_from(User)) == 1  # the owner stays
