"""Every process refuses a missing or weak CARTWHEEL_SECRET_KEYS at start, and says why."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

import pytest

from core.crypto import generate_key, key_problem
from core.settings import Settings, SettingsError
from tests.support.processes import ROOT, child_env
from tests.support.services import free_port

BIN = Path(sys.executable).parent


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


WEAK_KEYS = {
    "empty": "",
    "only_commas": " , ,",
    "not_base64": "correct horse battery staple",
    "too_short": _b64(b"0123456789abcdef"),
    "too_long": _b64(bytes(range(48))),
    "all_zero": _b64(bytes(32)),
    "all_same": _b64(b"a" * 32),
    "repeated_word": _b64(b"secret" * 5 + b"se"),
    "good_then_weak": f"{generate_key()},{_b64(bytes(32))}",
}

GUNICORN = [str(BIN / "gunicorn"), "--bind", "127.0.0.1:{port}"]
PROCESSES = {
    "receiver": [*GUNICORN, "receiver:create_app()"],
    "dashboard": [*GUNICORN, "dashboard_api:create_app()"],
    "worker": [str(BIN / "celery"), "-A", "workers.runtime", "worker", "-Q", "none", "-P", "solo"],
    "beat": [str(BIN / "celery"), "-A", "workers.runtime", "beat"],
    "flower": [str(BIN / "celery"), "-A", "workers.runtime", "flower", "--port={port}"],
    "cli": [str(BIN / "cartwheel"), "tenants", "list"],
    "launcher": [str(BIN / "cartwheel"), "run", "--no-demo", "--receiver-port={port}"],
}
# Run where no Procfile or local stack's .cartwheel/env could complete their settings.
_ELSEWHERE = {"cli", "launcher"}


def _env(keys: str) -> dict[str, str]:
    return {
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "CARTWHEEL_SECRET_KEYS": keys,
    }


@pytest.mark.parametrize("keys", WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_weak_or_missing_keys_are_refused(keys: str) -> None:
    with pytest.raises(SettingsError, match="CARTWHEEL_SECRET_KEYS"):
        Settings.from_env(_env(keys))


def test_generated_keys_and_rotation_lists_are_accepted() -> None:
    keys = f"{generate_key()}, {generate_key()}"
    assert key_problem(keys) is None
    assert Settings.from_env(_env(keys)).secret_keys == keys


def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int | None, str]:
    """The exit code (None: still running after a minute, then killed) and the output."""
    try:
        done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"") + (exc.stderr or b"")
        return None, output.decode(errors="replace")
    return done.returncode, (done.stdout + done.stderr).decode(errors="replace")


@pytest.mark.parametrize("name", list(PROCESSES))
def test_every_process_refuses_to_start_with_a_weak_key(
    settings: Settings, name: str, tmp_path: Path
) -> None:
    args = [a.format(port=free_port()) for a in PROCESSES[name]]
    env = child_env(settings, CARTWHEEL_SECRET_KEYS=_b64(b"a" * 32))
    code, output = _run(args, env, tmp_path if name in _ELSEWHERE else ROOT)
    assert code is not None and code != 0, output[-2000:]
    assert "CARTWHEEL_SECRET_KEYS key 1 is weak" in output, output[-2000:]


def test_a_worker_refuses_to_start_without_a_key(settings: Settings) -> None:
    env = child_env(settings)
    env.pop("CARTWHEEL_SECRET_KEYS")
    code, output = _run(PROCESSES["worker"], env, ROOT)
    assert code is not None and code != 0, output[-2000:]
    assert "CARTWHEEL_SECRET_KEYS is not set" in output, output[-2000:]
