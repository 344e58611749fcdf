"""The local stack as `make run` starts it, and the Celery worker's metrics endpoint."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from cartwheel.commands.common import read_env_file
from core import jobs
from core.settings import Settings
from models.db import sqlalchemy_url
from tests.support.faults_services import redis_server
from tests.support.processes import Proc, child_env, send_task
from tests.support.samples import sample_body
from tests.support.services import free_port
from tests.support.webhooks import Sender

pytestmark = pytest.mark.slow

CARTWHEEL = Path(sys.executable).parent / "cartwheel"
PROCESSES = {"receiver", "dashboard", "worker", "sync", "beat", "flower"}


class Stack:
    """`cartwheel run` in a working directory of its own, its output in a log file."""

    def __init__(self, workdir: Path, services: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.services = services or {}
        self.state = workdir / ".cartwheel"
        self.ports = {
            name: free_port()
            for name in ("receiver", "dashboard", "flower", "redis", "metrics", "sync_metrics")
        }
        self.runs = 0
        self.popen: subprocess.Popen[bytes] | None = None
        self.log = workdir / "run-0.log"

    def env(self) -> dict[str, str]:
        # As on a fresh machine: no service URLs, no cartwheel settings; only other ports.
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "PROMETHEUS_MULTIPROC_DIR")
            and not k.startswith("CARTWHEEL_")
        }
        return (
            env
            | {
                "CARTWHEEL_RECEIVER_PORT": str(self.ports["receiver"]),
                "CARTWHEEL_DASHBOARD_PORT": str(self.ports["dashboard"]),
                "CARTWHEEL_FLOWER_PORT": str(self.ports["flower"]),
                "CARTWHEEL_REDIS_PORT": str(self.ports["redis"]),
                "CARTWHEEL_WORKER_METRICS_PORT": str(self.ports["metrics"]),
                "CARTWHEEL_SYNC_METRICS_PORT": str(self.ports["sync_metrics"]),
                "WEB_CONCURRENCY": "1",  # a light stack: this machine has two cores
                "CARTWHEEL_DEMO_HISTORY": "0",  # no demo history unless a test asks for one
            }
            | self.services
        )

    def start(self) -> str:
        """Start `cartwheel run`; return the curl it prints once everything is up."""
        self.runs += 1
        self.log = self.workdir / f"run-{self.runs}.log"
        with self.log.open("wb") as out:
            self.popen = subprocess.Popen(
                [str(CARTWHEEL), "run"],
                cwd=self.workdir,
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while "--data-binary" not in self.output():
            assert self.popen.poll() is None, self.output()[-4000:]
            assert time.monotonic() < deadline, self.output()[-4000:]
            time.sleep(0.2)
        match = re.search(r"^curl .*?--data-binary \S+$", self.output(), re.S | re.M)
        assert match, self.output()
        return match.group(0)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.popen is not None and self.popen.poll() is None, self.output()[-4000:]
            assert time.monotonic() < deadline, self.output()[-4000:]
            time.sleep(0.2)

    def children(self) -> dict[str, int]:
        entries = json.loads((self.state / "run.pids").read_text())
        return {e["name"]: e["pid"] for e in entries}

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it; the launcher's exit code."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGINT)
        return self.wait()

    def wait(self) -> int:
        assert self.popen is not None
        return self.popen.wait(timeout=90)

    def database_url(self) -> str:
        return read_env_file(self.state / "env")["DATABASE_URL"]

    def kill_everything(self) -> None:
        """Teardown after a failure: leave no process behind."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        if (self.state / "run.pids").exists():
            for pid in self.children().values():
                if group_alive(pid):
                    os.killpg(pid, signal.SIGKILL)
        postmaster = self.state / "pg" / "postmaster.pid"
        if postmaster.exists():
            os.kill(int(postmaster.read_text().split()[0]), signal.SIGQUIT)


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still runs (zombies waiting to be reaped do not)."""
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except ProcessLookupError:
            continue
    return False


def query(url: str, sql: str) -> Any:
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def wait_for_value(url: str, sql: str, expected: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (value := query(url, sql)) != expected and time.monotonic() < deadline:
        time.sleep(0.25)
    assert value == expected


@pytest.fixture
def stack() -> Iterator[Stack]:
    # Not under pytest's tmp_path: a pytest session starting meanwhile makes its parent 0700,
    # which locks out the unprivileged user pgserver runs PostgreSQL as when we are root.
    workdir = Path(tempfile.mkdtemp(prefix="cartwheel-run-"))
    s = Stack(workdir)
    try:
        yield s
    finally:
        s.kill_everything()
        shutil.rmtree(workdir, ignore_errors=True)


def test_make_run_takes_a_webhook_to_a_row_and_keeps_it_across_a_restart(stack: Stack) -> None:
    stack.services["CARTWHEEL_DEMO_HISTORY"] = "300"
    curl = stack.start()
    assert set(stack.children()) == PROCESSES
    db = stack.database_url()
    assert "?host=" in db  # the embedded server, on its unix socket
    # The demo shop's history goes through the receiver and the workers first.
    stack.wait_for_output("demo history: ")
    assert "demo history stopped early" not in stack.output()
    history = query(db, "SELECT count(*) FROM orders")
    assert history > 0
    reply = subprocess.run(["bash", "-c", curl], capture_output=True, timeout=30, check=True)
    assert json.loads(reply.stdout)["status"] == "accepted"
    wait_for_value(db, "SELECT count(*) FROM orders", history + 1)
    # The pipeline ran as a role that owns the tables and is no superuser.
    assert (
        query(db, "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        is False
    )
    assert query(db, "SELECT tableowner = current_user FROM pg_tables WHERE tablename = 'orders'")
    demo = json.loads((stack.state / "demo.json").read_text())
    assert set(demo) == {"shop", "secret", "tenant_id", "receiver_url", "email", "password"}
    assert demo["receiver_url"] == f"http://127.0.0.1:{stack.ports['receiver']}"
    assert (stack.state / "secret.key").stat().st_mode & 0o777 == 0o600
    # The banner's demo login opens the dashboard, which shows the history's orders.
    dashboard = f"http://127.0.0.1:{stack.ports['dashboard']}"
    assert f"{dashboard}/" in stack.output() and demo["password"] in stack.output()
    assert requests.get(f"{dashboard}/", timeout=10).url == f"{dashboard}/app/"
    tokens = requests.post(
        f"{dashboard}/login",
        json={"email": demo["email"], "password": demo["password"]},
        timeout=10,
    ).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    insights = requests.get(
        f"{dashboard}/api/insights",
        params={"from": (date.today() - timedelta(days=90)).isoformat()},
        headers=bearer,
        timeout=30,
    ).json()
    assert insights["orders"]["count"] > 0

    events = query(db, "SELECT count(*) FROM webhook_events")
    children = stack.children()
    assert stack.interrupt() == 0
    assert not [name for name, pid in children.items() if group_alive(pid)]
    assert not (stack.state / "pg" / "postmaster.pid").exists()  # PostgreSQL stopped cleanly
    assert requests_refused(f"http://127.0.0.1:{stack.ports['receiver']}/healthz")
    assert (stack.state / "redis" / "appendonly.aof").exists()

    stack.start()
    db = stack.database_url()
    assert query(db, "SELECT count(*) FROM orders") == history + 1
    assert query(db, "SELECT count(*) FROM webhook_events") == events
    assert query(db, "SELECT count(*) FROM tenants") == 1
    assert json.loads((stack.state / "demo.json").read_text()) == demo
    assert "sending the demo shop" not in stack.output()  # its history went once

    # A process that dies takes the whole stack down, with a failing exit code.
    children = stack.children()
    os.kill(children["worker"], signal.SIGKILL)
    assert stack.wait() == 1
    assert "worker exited unexpectedly" in stack.output()
    assert not [name for name, pid in children.items() if group_alive(pid)]
    assert not (stack.state / "pg" / "postmaster.pid").exists()


def test_the_stack_rides_out_a_redis_restart(settings: Settings, tmp_path: Path) -> None:
    with redis_server(tmp_path) as server:
        stack = Stack(
            tmp_path / "stack",
            {
                "REDIS_URL": server.url,
                "DATABASE_URL": settings.database_url,
                "CARTWHEEL_NAMESPACE": settings.namespace,
                "CARTWHEEL_BEAT_MAX_LOOP_INTERVAL": "1",
            },
        )
        stack.workdir.mkdir()
        try:
            curl = stack.start()
            server.kill()
            time.sleep(2)
            server.start()
            deadline = time.monotonic() + 20
            while True:  # as Shopify does, deliver again after a 503
                reply = subprocess.run(["bash", "-c", curl], capture_output=True, timeout=30)
                if b'"accepted"' in reply.stdout or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert json.loads(reply.stdout)["status"] == "accepted"
            # The worker's consumer reconnects on kombu's fixed schedule (2, 6, 12, 20, 30 s after
            # the loss), so a Redis back after the first try is drained at the next one.
            wait_for_value(settings.database_url, "SELECT count(*) FROM orders", 1, timeout=45)
            assert stack.popen is not None and stack.popen.poll() is None, stack.output()[-3000:]
            assert "exited unexpectedly" not in stack.output()
            assert stack.interrupt() == 0
        finally:
            stack.kill_everything()


def requests_refused(url: str) -> bool:
    try:
        requests.get(url, timeout=2)
    except requests.ConnectionError:
        return True
    return False


def scrape(url: str) -> dict[str, float]:
    """`name{label="v",...}` -> value, for every cartwheel sample."""
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(requests.get(url, timeout=5).text):
        for s in family.samples:
            if s.name.startswith("cartwheel_"):
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
                samples[f"{s.name}{{{labels}}}"] = s.value
    return samples


def total(samples: dict[str, float], name: str) -> float:
    return sum(v for k, v in samples.items() if k.startswith(name + "{"))


def test_worker_metrics_show_backlog_dead_letters_and_pool_counters(
    settings: Settings, sender: Sender, tmp_path: Path
) -> None:
    body = sample_body("orders_create")
    for i in range(3):
        assert sender.send("orders/create", body, webhook_id=f"ok-{i}").status_code == 200
    assert sender.send("orders/create", {"id": "not-a-number"}).status_code == 200
    port = free_port()
    worker_settings = settings.with_overrides(worker_metrics_port=port)
    (tmp_path / "prom").mkdir()
    env = child_env(worker_settings) | {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")}
    args = [sys.executable, "-m", "celery", "-A", "workers.runtime", "worker",
            "-Q", ",".join(jobs.queues(settings)), "--concurrency", "2", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "-l", "INFO"]  # fmt: skip
    worker = Proc(args, env, tmp_path / "worker.log")
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        worker.wait_for("ready.")
        before = scrape(url)
        assert total(before, "cartwheel_stream_length") == 4  # nothing drained yet
        assert total(before, "cartwheel_stream_pending") == 0
        assert before['cartwheel_stream_length{shard="0"}'] >= 0  # one series per shard
        assert len([k for k in before if k.startswith("cartwheel_stream_length{")]) == 2
        assert before["cartwheel_dead_letters_waiting{}"] == 0
        assert before['cartwheel_monitor_up{source="redis"}'] == 1
        assert before['cartwheel_monitor_up{source="database"}'] == 1

        send_task(settings, "cartwheel.drain")
        deadline = time.monotonic() + 30
        after = scrape(url)
        while time.monotonic() < deadline and (
            total(after, "cartwheel_stream_length") or after["cartwheel_dead_letters_total{}"] < 1
        ):
            time.sleep(0.2)
            after = scrape(url)
        assert total(after, "cartwheel_stream_length") == 0
        assert after["cartwheel_dead_letters_waiting{}"] == 1
        # Counted in a pool process, served by the main one: the multiprocess aggregation.
        assert after['cartwheel_events_total{outcome="applied",resource="orders"}'] >= 1
        assert after["cartwheel_dead_letters_total{}"] == 1
    finally:
        worker.stop()
