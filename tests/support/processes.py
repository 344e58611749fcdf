"""Start real cartwheel processes (Celery worker, beat, gunicorn receiver) for a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from core import jobs
from core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


class Proc:
    """A child process whose combined output goes to a log file we can wait on."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            args,
            env=env,
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen in {self.log}:\n{self.output()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a prefork worker has children)."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
        self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._out.close()


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {**os.environ, **settings.to_env(), **extra}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


@contextmanager
def celery_worker(
    settings: Settings, log_dir: Path, name: str = "w1", concurrency: int = 1
) -> Iterator[Proc]:
    """A real Celery worker consuming this test's queue."""
    args = [
        sys.executable, "-m", "celery", "-A", "workers.runtime", "worker",
        "-Q", ",".join(jobs.queues(settings)), "-n", f"{name}@%h",
        "--concurrency", str(concurrency),
        "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
    ]  # fmt: skip
    proc = Proc(args, child_env(settings), log_dir / f"worker-{name}.log")
    try:
        proc.wait_for("ready.")
        yield proc
    finally:
        proc.stop()


@contextmanager
def celery_beat(settings: Settings, log_dir: Path, name: str = "beat1") -> Iterator[Proc]:
    """A real Celery beat with the redbeat scheduler."""
    args = [
        sys.executable, "-m", "celery", "-A", "workers.runtime", "beat",
        "-l", "DEBUG",
    ]  # fmt: skip
    proc = Proc(args, child_env(settings), log_dir / f"{name}.log")
    try:
        proc.wait_for("beat: Starting")
        yield proc
    finally:
        proc.stop()


@contextmanager
def receiver_server(
    settings: Settings, log_dir: Path, port: int, workers: int = 2
) -> Iterator[str]:
    """The receiver under gunicorn with the production config; yields its base URL (its log is
    `receiver-<port>.log` in log_dir)."""
    args = [
        sys.executable, "-m", "gunicorn", "--config", "python:cartwheel.gunicorn_conf",
        "-b", f"127.0.0.1:{port}", "-w", str(workers), "receiver:create_app()",
    ]  # fmt: skip
    proc = Proc(args, child_env(settings), log_dir / f"receiver-{port}.log")
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.popen.poll() is not None:
                raise AssertionError(proc.output()[-3000:])
            time.sleep(0.1)
        yield base
    finally:
        proc.stop()


def send_task(settings: Settings, name: str, **kwargs: Any) -> None:
    """Queue a job by name on this test's queue, as the producer of any process does."""
    producer = jobs.Producer(settings)
    try:
        producer.enqueue(name, kwargs)
    finally:
        producer.close()
