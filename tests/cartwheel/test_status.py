"""`cartwheel status`: rows per tenant and table, stream backlog, pending entries, dead letters."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from cartwheel.cli import main
from cartwheel.status import dead_letter_totals, pipeline_status, tenant_counts
from core.settings import Settings
from core.wire import StreamConsumer, consumer_group, shard_of, stream_keys
from models.db import session_scope
from tests.support.pipeline import drain_all
from tests.support.samples import sample_json
from tests.support.services import free_port
from tests.support.webhooks import Sender


def invoke(settings: Settings, *args: str) -> Result:
    return CliRunner().invoke(main, ["status", *args], env=settings.to_env())


@pytest.fixture
def known_state(
    settings: Settings,
    make_tenant: Callable[..., dict[str, Any]],
    client: FlaskClient,
    redis_client: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    """Alpha: known rows and 3 entries left in its stream, 2 of them pending. Beta: nothing."""
    monkeypatch.chdir(tmp_path)  # no ./.cartwheel/env of a local stack
    alpha = make_tenant(shop="alpha.myshopify.com", name="Alpha")
    make_tenant(shop="beta.myshopify.com", name="Beta")
    send = Sender(client, shop=alpha["shop"], secret=alpha["secret"]).send
    for n in (1, 2, 3):
        send("customers/create", sample_json("customers_create") | {"id": n})
    send("customers/delete", {"id": 3})
    send("products/create", sample_json("products_create"))
    send("products/delete", {"id": 4})  # an unknown product: a tombstone row
    send("orders/create", sample_json("orders_create") | {"customer": None})
    send("carts/create", sample_json("carts_create"))
    send("checkouts/create", sample_json("checkouts_create"))
    send("customers/create", {"id": "not-a-number"})  # valid JSON, invalid payload: dead letter
    drain_all(settings)
    for n in (5, 6, 7):  # accepted, not drained yet
        response = send("customers/update", sample_json("customers_update") | {"id": n})
        assert response.status_code == 200
    stuck = StreamConsumer(redis_client, settings, "stuck-worker")
    assert len(stuck.read(2, None)) == 2  # delivered, never acknowledged
    return alpha


def test_status_counts_rows_per_tenant(settings: Settings, known_state: dict[str, Any]) -> None:
    with session_scope(settings.database_url) as session:
        tenants = {t.shop: t for t in tenant_counts(session)}
        dead = dead_letter_totals(session)
    assert list(tenants) == ["alpha.myshopify.com", "beta.myshopify.com"]
    alpha = tenants["alpha.myshopify.com"]
    assert alpha.id == known_state["id"]
    counts = {name: (c.rows, c.deleted) for name, c in alpha.tables.items()}
    assert counts == {
        "customers": (2, 1),
        "products": (1, 1),
        "orders": (1, 0),
        "carts": (1, 0),
        "checkouts": (1, 0),
        "webhook_events": (9, 0),
        "dead_letters": (1, 0),
    }
    assert all(c.rows == c.deleted == 0 for c in tenants["beta.myshopify.com"].tables.values())
    assert (dead.total, dead.waiting) == (1, 1)


def test_status_shows_backlog_pending_and_consumers(
    settings: Settings, redis_client: redis.Redis, known_state: dict[str, Any]
) -> None:
    pipeline = pipeline_status(redis_client, settings)
    assert (pipeline.backlog, pipeline.pending) == (3, 2)
    shard = stream_keys(settings)[shard_of(str(known_state["id"]), settings.stream_shards)]
    assert {s.stream: (s.backlog, s.pending) for s in pipeline.shards} == {
        key: (3, 2) if key == shard else (0, 0) for key in stream_keys(settings)
    }
    assert pipeline.consumers["stuck-worker"]["pending"] == 2
    assert pipeline.consumers["test-consumer"]["pending"] == 0


def test_status_command_prints_the_report(settings: Settings, known_state: dict[str, Any]) -> None:
    result = invoke(settings)
    assert result.exit_code == 0, result.output
    out = result.output
    alpha, beta = out.split("beta.myshopify.com")[0], out.split("beta.myshopify.com")[1]
    assert f"alpha.myshopify.com  'Alpha' (active)  {known_state['id']}" in alpha
    assert re.search(r"customers\s+2\s+1\n", alpha)
    assert re.search(r"products\s+1\s+1\n", alpha)
    assert re.search(r"orders\s+1\s+0\n", alpha)
    assert re.search(r"webhook_events\s+9\s+-\n", alpha)
    assert re.search(r"dead_letters\s+1\s+-\n", alpha)
    assert re.search(r"customers\s+0\s+0\n", beta)
    assert f"pipeline (consumer group {consumer_group(settings)})" in out
    assert re.search(r"total\s+3\s+2\n", out)
    assert re.search(r"consumers\s+stuck-worker \(2 pending, idle \d+\.\d s\)", out)
    assert re.search(r"dead letters\s+1 \(1 not replayed\)", out)


def test_status_command_as_json(settings: Settings, known_state: dict[str, Any]) -> None:
    result = invoke(settings, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    [alpha, beta] = report["tenants"]
    assert (alpha["shop"], alpha["id"]) == ("alpha.myshopify.com", str(known_state["id"]))
    assert alpha["tables"]["customers"] == {"rows": 2, "deleted": 1}
    assert alpha["tables"]["webhook_events"] == {"rows": 9}
    assert beta["tables"]["orders"] == {"rows": 0, "deleted": 0}
    pipeline = report["pipeline"]
    assert (pipeline["backlog"], pipeline["pending"], pipeline["error"]) == (3, 2, None)
    assert {c["name"]: c["pending"] for c in pipeline["consumers"]} == {
        "stuck-worker": 2,
        "test-consumer": 0,
    }
    assert pipeline["dead_letters"] == {"total": 1, "waiting": 1}


def test_status_with_redis_down_still_shows_the_tables(
    settings: Settings, known_state: dict[str, Any]
) -> None:
    down = settings.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    result = invoke(down)
    assert result.exit_code == 1
    assert re.search(r"customers\s+2\s+1\n", result.output)
    assert "pipeline: cannot read Redis: ConnectionError" in result.output
    report = json.loads(invoke(down, "--json").output)
    assert report["pipeline"]["error"].startswith("cannot read Redis")
    assert report["tenants"][0]["tables"]["customers"] == {"rows": 2, "deleted": 1}


def test_status_before_anything_exists(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(settings)
    assert result.exit_code == 0, result.output
    assert "no tenants" in result.output
    assert re.search(r"total\s+0\s+0\n", result.output)
    assert re.search(r"consumers\s+none", result.output)
