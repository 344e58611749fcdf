"""Under gunicorn, as in production, the receiver writes JSON lines with its fields."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import requests

from core.settings import Settings
from tests.support.processes import receiver_server
from tests.support.services import free_port
from tests.support.webhooks import shopify_headers


def _lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def test_a_rejected_delivery_is_logged_as_json_with_its_fields(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    port = free_port()
    body = b'{"id": 1}'
    webhook_id = str(uuid.uuid4())
    headers = shopify_headers(
        "orders/create", body, shop=tenant["shop"], secret="not-the-secret", webhook_id=webhook_id
    )
    with receiver_server(settings, tmp_path, port) as base:
        answer = requests.post(f"{base}/webhooks", data=body, headers=headers, timeout=10)
        assert answer.status_code == 401
        log = tmp_path / f"receiver-{port}.log"
        deadline = time.monotonic() + 10
        while "webhook rejected" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    lines = _lines(log)  # every line parses: gunicorn's own are JSON too
    [rejected] = [line for line in lines if line["message"] == "webhook rejected"]
    assert rejected["level"] == "info" and rejected["logger"] == "receiver.app"
    assert rejected["status"] == 401 and rejected["error"] == "unauthorized"
    assert rejected["topic"] == "orders/create" and rejected["webhook_id"] == webhook_id
    assert rejected["shop"] == tenant["shop"]
    assert any(line["logger"].startswith("gunicorn") for line in lines)
    assert "not-the-secret" not in log.read_text() and body.decode() not in log.read_text()
