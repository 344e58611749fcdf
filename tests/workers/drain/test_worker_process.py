"""A real Celery worker drains what a real receiver accepted."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import redis
import requests
from sqlalchemy import func, select

from core import jobs
from core.settings import Settings
from core.wire import Envelope, StreamWriter
from models import Order, WebhookEvent
from models.db import session_scope
from tests.support.processes import celery_worker, receiver_server, send_task
from tests.support.samples import sample_body
from tests.support.services import free_port
from tests.support.webhooks import shopify_headers


def test_worker_drains_webhooks_sent_to_gunicorn_receiver(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    body = sample_body("orders_create")
    with (
        receiver_server(settings, tmp_path, free_port()) as base,
        celery_worker(settings, tmp_path),
    ):
        for i in range(5):
            headers = shopify_headers(
                "orders/create",
                body,
                shop=tenant["shop"],
                secret=tenant["secret"],
                webhook_id=f"w{i}",
            )
            assert (
                requests.post(f"{base}/webhooks", data=body, headers=headers, timeout=5).status_code
                == 200
            )
        send_task(settings, "cartwheel.drain")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with session_scope(settings.database_url) as s:
                events = s.scalar(select(func.count()).select_from(WebhookEvent))
            if events == 5:
                break
            time.sleep(0.2)
        with session_scope(settings.database_url) as s:
            assert s.scalar(select(func.count()).select_from(WebhookEvent)) == 5
            assert s.scalar(select(func.count()).select_from(Order)) == 1


def test_task_log_lines_are_json_and_carry_the_task_id(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    # A poison delivery makes the drain task log a "dead letter" warning of its own.
    envelope = Envelope(str(tenant["id"]), "orders/create", "poison", "", "", "", "", b"[]")
    client = redis.Redis.from_url(settings.redis_url)
    StreamWriter(client, settings).enqueue(envelope)
    client.close()
    job_id = jobs.new_job_id()
    with celery_worker(settings, tmp_path) as worker:
        producer = jobs.Producer(settings)
        producer.enqueue(jobs.DRAIN, job_id=job_id)
        producer.close()
        deadline = time.monotonic() + 30
        while '"dead letter"' not in worker.output() and time.monotonic() < deadline:
            time.sleep(0.1)
    lines = [json.loads(line) for line in worker.output().splitlines() if line.startswith("{")]
    [dead] = [line for line in lines if line["message"] == "dead letter"]
    assert dead["task_id"] == job_id and dead["task"] == jobs.DRAIN
    assert dead["webhook_id"] == "poison" and dead["tenant"] == str(tenant["id"])
    assert any(line["message"].endswith("ready.") for line in lines)  # Celery's own, as JSON
