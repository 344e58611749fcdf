"""Slow clients against the real gunicorn receiver: trickled bodies never delay signed deliveries.

Shopify gives up on a delivery after 5 s; the promise is that signed deliveries are answered
within 1 s while 50 connections trickle their bodies, so these tests time the answers.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from core.settings import Settings
from tests.support.processes import receiver_server
from tests.support.samples import sample_body
from tests.support.services import free_port
from tests.support.webhooks import shopify_headers

pytestmark = pytest.mark.slow


def _open_trickler(port: int, shop: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = (
        "POST /webhooks HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 100000\r\n"
        "X-Shopify-Topic: orders/create\r\n"
        "X-Shopify-Hmac-Sha256: c2lnbmVk\r\n"
        f"X-Shopify-Shop-Domain: {shop}\r\n"
        "X-Shopify-Webhook-Id: slow\r\n"
        "\r\n"
    )
    sock.sendall(head.encode())
    return sock


@contextmanager
def trickling(port: int, shop: str, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that send their body one byte every 0.1 s until the test ends."""
    socks = [_open_trickler(port, shop) for _ in range(count)]
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            for sock in socks:
                with contextlib.suppress(OSError):  # cut off by the server
                    sock.send(b" ")
            stop.wait(0.1)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        yield socks
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in socks:
            sock.close()


def _signed(tenant: dict[str, Any], n: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(json.loads(sample_body("orders_create")) | {"id": n}).encode()
    headers = shopify_headers("orders/create", body, shop=tenant["shop"], secret=tenant["secret"])
    return body, headers


def test_signed_deliveries_are_answered_within_a_second_while_50_clients_trickle(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    port = free_port()
    with (
        receiver_server(settings, tmp_path, port, workers=2) as base,
        trickling(port, tenant["shop"], 50),
    ):
        time.sleep(1.0)  # every trickler is inside a request, reading its body
        for n in range(20):
            body, headers = _signed(tenant, n)
            started = time.monotonic()
            answer = requests.post(f"{base}/webhooks", data=body, headers=headers, timeout=10)
            took = time.monotonic() - started
            assert answer.status_code == 200, answer.text
            assert took < 1.0, f"delivery {n} answered after {took:.2f} s"
    log = (tmp_path / f"receiver-{port}.log").read_text()
    assert "gevent" in log  # the receiver's workers are the async kind


def test_a_trickled_body_is_cut_off_with_408(
    settings: Settings, tenant: dict[str, Any], tmp_path: Path
) -> None:
    port = free_port()
    quick = settings.with_overrides(body_read_seconds=1.0)
    with (
        receiver_server(quick, tmp_path, port, workers=1),
        trickling(port, tenant["shop"], 1) as [sock],
    ):
        sock.settimeout(10)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 408"), answer
        head, _, body = rest.partition(b"\r\n\r\n")
        while len(body) < int(_header(head, b"content-length")):
            body += sock.recv(4096)
        assert json.loads(body)["error"] == "body_timeout"


def _header(head: bytes, name: bytes) -> bytes:
    for line in head.split(b"\r\n"):
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    raise AssertionError(f"no {name!r} header in {head!r}")
