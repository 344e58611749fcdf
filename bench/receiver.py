"""Receiver throughput: the real receiver against a bare Flask handler, same gunicorn, same load."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import redis
import requests

from bench import payloads
from bench.loadgen import Load, run_load
from bench.services import child_env, delete_keys, gunicorn
from core.settings import Settings
from core.wire import stream_keys

ROUNDS = 5


def run_receiver(
    settings: Settings,
    tenant: dict[str, str],
    *,
    generator: str,
    workers: int,
    warmup: float,
    seconds: float,
    connections: int,
    workdir: Path,
) -> dict[str, Any]:
    """Accepted webhooks/s of both servers, and what the real one put in the streams."""
    body = payloads.receiver_body()
    delivery = payloads.Delivery("orders/create", str(uuid.uuid4()), body)
    headers = delivery.headers(tenant["shop"], tenant["secret"])
    env = child_env(settings)

    def load(base: str, warm: float, window: float) -> Load:
        return run_load(
            generator, f"{base}/webhooks", body, headers, warmup=warm, seconds=window,
            connections=connections, workdir=workdir,
        )  # fmt: skip

    windows: dict[str, list[Load]] = {"receiver": [], "bare": []}
    try:
        with (
            gunicorn("receiver:create_app()", env, workdir / "receiver.log", workers) as real,
            gunicorn("bench.bare:create_app()", env, workdir / "bare.log", workers) as bare,
        ):
            _check_accepted(real, body, headers)
            bases = {"receiver": real, "bare": bare}
            for base in bases.values():
                load(base, 0, warmup)  # warm-up, not counted
            # Alternate short windows, so a change in the machine's other load hits both.
            for _ in range(ROUNDS):
                for name, base in bases.items():
                    windows[name].append(load(base, 0, seconds / ROUNDS))
        queued = _stream_length(settings)
    finally:
        delete_keys(settings.redis_url, settings.namespace)
    real_load, bare_load = _total(windows["receiver"]), _total(windows["bare"])
    return {
        "body_bytes": len(body),
        "gunicorn": f"{workers} sync workers, 127.0.0.1",
        "rounds": ROUNDS,
        "bare": _figures(bare_load) | {"windows_per_s": _rates(windows["bare"])},
        "receiver": _figures(real_load)
        | {"windows_per_s": _rates(windows["receiver"]), "entries_in_streams": queued},
        "ratio": real_load.rate / bare_load.rate if bare_load.rate else 0.0,
    }


def _rates(loads: list[Load]) -> list[float]:
    return [round(x.rate, 1) for x in loads]


def _total(loads: list[Load]) -> Load:
    return Load(
        sum(x.accepted for x in loads), sum(x.other for x in loads), sum(x.seconds for x in loads)
    )


def _check_accepted(base: str, body: bytes, headers: dict[str, str]) -> None:
    """Fail fast (instead of measuring 401s) if the real receiver does not accept the body."""
    answer = requests.post(f"{base}/webhooks", data=body, headers=headers, timeout=10)
    if answer.status_code != 200:
        raise RuntimeError(f"receiver refused the bench body: {answer.status_code} {answer.text}")


def _figures(load: Load) -> dict[str, Any]:
    return {
        "accepted_per_s": round(load.rate, 1),
        "accepted": load.accepted,
        "other_answers": load.other,
        "seconds": round(load.seconds, 2),
    }


def _stream_length(settings: Settings) -> int:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        return sum(int(client.xlen(key)) for key in stream_keys(settings))
    finally:
        client.close()
