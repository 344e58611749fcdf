"""A real Celery worker drains what a real receiver accepted."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import func, select

from core.settings import Settings
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
