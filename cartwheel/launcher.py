"""`cartwheel run`: the whole system on one machine.

Without DATABASE_URL / REDIS_URL it starts embedded PostgreSQL and Redis with their data under
./.cartwheel/. It keeps an encryption key there, writes ./.cartwheel/env for commands run beside
the stack, migrates, seeds a demo tenant once, runs the Procfile's processes and prints how to
reach them, until Ctrl-C or SIGTERM, or until one of them dies (then it exits non-zero).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

from cartwheel import embedded
from cartwheel.demo import (
    HISTORY_DAYS,
    HISTORY_DELIVERIES,
    DemoError,
    DemoTenant,
    ensure_demo_tenant,
    has_orders,
    sample_curl,
    send_history,
)
from cartwheel.migrate import upgrade
from cartwheel.status import pipeline_status
from cartwheel.supervisor import (
    ChildDied,
    Output,
    StopSignals,
    Supervisor,
    read_procfile,
    run_lock,
    stop_leftovers,
)
from core.crypto import generate_key
from core.errors import CartwheelError
from core.settings import Settings, SettingsError

STATE_DIR = Path(".cartwheel")
_ROOT = Path(__file__).resolve().parent.parent


class LaunchError(CartwheelError, RuntimeError):
    """The stack cannot start (busy port, bad settings, a process that never got ready)."""


@dataclass(frozen=True)
class Options:
    """What `cartwheel run` can be told (ports are per stack, so two can run side by side)."""

    host: str = "127.0.0.1"
    receiver_port: int = 8000
    dashboard_port: int = 8001
    flower_port: int = 5555
    redis_port: int = 6390
    stop_timeout: float = 20.0
    ready_timeout: float = 120.0
    demo: bool = True
    demo_history: int = HISTORY_DELIVERIES  # deliveries sent to a demo shop without orders
    procfile: Path | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @property
    def client_host(self) -> str:
        """The address to print for clients (not 0.0.0.0 when listening on every interface)."""
        return _client(self.host)


def launch(options: Options) -> int:
    """Run the stack until a signal (exit code 0) or until a process dies (exit code 1)."""
    out = Output()
    state = STATE_DIR.resolve()
    state.mkdir(exist_ok=True)
    stopper = StopSignals()
    code = 0
    with run_lock(state, LaunchError), stopper.installed(), contextlib.ExitStack() as stack:
        try:
            sup = _start(stack, state, options, out, stopper)
            while True:
                sup.check()
                time.sleep(0.2)
        except KeyboardInterrupt:
            out.line("cartwheel", "stopping (a second Ctrl-C kills at once)")
        except ChildDied as exc:
            out.line("cartwheel", f"{exc}; stopping everything")
            code = 1
        finally:
            stopper.stopping = True
    out.line("cartwheel", "stopped")
    return code


def _start(
    stack: contextlib.ExitStack, state: Path, options: Options, out: Output, stopper: StopSignals
) -> Supervisor:
    env = options.environ
    procfile = read_procfile(_procfile(options))
    settings = _settings(env, _secret_keys(state, env))
    stop_leftovers(state / "run.pids", out)
    if not env.get("REDIS_URL"):
        embedded.stop_leftover_redis(state)
    _check_ports(options, settings)
    settings = settings.with_overrides(
        database_url=env.get("DATABASE_URL") or _embedded_postgres(stack, state, out),
        redis_url=env.get("REDIS_URL") or _embedded_redis(stack, state, options, out),
    )
    _write_env_file(state / "env", settings)
    out.line("cartwheel", "migrating the database")
    upgrade(settings.database_url)
    demo = _demo(settings, state, options, out) if options.demo else None
    sup = Supervisor(out, options.stop_timeout, state / "run.pids")
    stopper.on_second_signal = sup.hurry.set
    stack.callback(sup.stop)  # registered after the services, so it runs before they stop
    for name, command in procfile.items():
        sup.start(name, command, _child_env(settings, options, state, name))
    _wait_ready(sup, _ready_urls(options, settings, procfile), options.ready_timeout)
    out.write(_banner(options, settings, demo))
    if demo is not None and options.demo_history and not has_orders(settings, demo):
        threading.Thread(
            target=_send_demo_history,
            args=(settings, demo, options.demo_history, out),
            name="demo",
            daemon=True,
        ).start()
    return sup


def _send_demo_history(settings: Settings, demo: DemoTenant, count: int, out: Output) -> None:
    """The demo shop's first start: its history through the receiver, while the stack runs."""
    out.line(
        "cartwheel",
        f"sending the demo shop {HISTORY_DAYS} days of history through the receiver; "
        "the dashboard fills in as the workers drain it",
    )
    summary = send_history(settings, demo, deliveries=count, wait=lambda: _wait_drained(settings))
    out.line("cartwheel", f"demo history: {summary.accepted} deliveries accepted")
    if summary.error or summary.rejected:
        out.line("cartwheel", f"demo history stopped early: {summary.error or summary.rejected}")


def _wait_drained(settings: Settings, timeout: float = 600.0) -> None:
    """Until the workers have taken every entry of the streams (or `timeout` seconds)."""
    client = redis.Redis.from_url(settings.redis_url)
    deadline = time.monotonic() + timeout
    try:
        while pipeline_status(client, settings).backlog and time.monotonic() < deadline:
            time.sleep(1)
    finally:
        client.close()


def _demo(settings: Settings, state: Path, options: Options, out: Output) -> DemoTenant | None:
    receiver_url = f"http://{options.client_host}:{options.receiver_port}"
    try:
        return ensure_demo_tenant(settings, state / "demo.json", receiver_url)
    except DemoError as exc:
        out.line("cartwheel", str(exc))
        return None


def _procfile(options: Options) -> Path:
    for candidate in (options.procfile, _ROOT / "Procfile", Path("Procfile")):
        if candidate is not None and candidate.is_file():
            return candidate
    raise LaunchError("no Procfile here: run from the project checkout, or pass --procfile")


def _embedded_postgres(stack: contextlib.ExitStack, state: Path, out: Output) -> str:
    out.line("cartwheel", f"starting embedded PostgreSQL (data in {state / 'pg'})")
    try:
        pg = embedded.start_postgres(state)
    except (subprocess.SubprocessError, OSError) as exc:
        log = state / "pg" / "log"
        raise LaunchError(f"embedded PostgreSQL did not start ({exc}); see {log}") from exc
    stack.callback(_say_and, out, "stopped embedded PostgreSQL", pg.stop)
    return pg.url


def _embedded_redis(stack: contextlib.ExitStack, state: Path, options: Options, out: Output) -> str:
    out.line("cartwheel", f"starting embedded Redis on port {options.redis_port} (AOF on)")
    try:
        server = embedded.start_redis(state, options.redis_port)
    except embedded.EmbeddedError as exc:
        raise LaunchError(str(exc)) from exc
    stack.callback(_say_and, out, "stopped embedded Redis", server.stop)
    return server.url


def _say_and(out: Output, message: str, action: Callable[[], None]) -> None:
    action()
    out.line("cartwheel", message)


def _secret_keys(state: Path, env: Mapping[str, str]) -> str:
    """CARTWHEEL_SECRET_KEYS, else a key generated once into state/secret.key (mode 0600)."""
    if env.get("CARTWHEEL_SECRET_KEYS"):
        return env["CARTWHEEL_SECRET_KEYS"]
    path = state / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(generate_key() + "\n")
    return path.read_text().strip()


def _settings(env: Mapping[str, str], keys: str) -> Settings:
    # Placeholders stand in for the embedded services' URLs until they have started.
    values = {"DATABASE_URL": "postgresql://embedded", "REDIS_URL": "redis://embedded", **env}
    try:
        return Settings.from_env({**values, "CARTWHEEL_SECRET_KEYS": keys})
    except SettingsError as exc:
        raise LaunchError(str(exc)) from exc


def _write_env_file(path: Path, settings: Settings) -> None:
    """The URLs and key, plus any setting off its default, for commands run beside the stack."""
    defaults = Settings(database_url="", redis_url="", secret_keys="").to_env()
    required = ("DATABASE_URL", "REDIS_URL", "CARTWHEEL_SECRET_KEYS")
    lines = ["# Written by `cartwheel run` at each start; read by the other cartwheel commands."]
    lines += [
        f"{name}={value}"
        for name, value in settings.to_env().items()
        if name in required or value != defaults[name]
    ]
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def _check_ports(options: Options, settings: Settings) -> None:
    wanted = {
        "receiver": (options.host, options.receiver_port, "--receiver-port"),
        "dashboard": (options.host, options.dashboard_port, "--dashboard-port"),
        "flower": (options.host, options.flower_port, "--flower-port"),
    }
    if not options.environ.get("REDIS_URL"):
        wanted["embedded Redis"] = ("127.0.0.1", options.redis_port, "--redis-port")
    for name, port, how in (
        ("worker metrics", settings.worker_metrics_port, "CARTWHEEL_WORKER_METRICS_PORT"),
        ("sync worker metrics", settings.sync_metrics_port, "CARTWHEEL_SYNC_METRICS_PORT"),
    ):
        if port:
            wanted[name] = (settings.worker_metrics_host, port, how)
    for name, (host, port, how) in wanted.items():
        if not embedded.port_free(host, port):
            raise LaunchError(f"port {port} for the {name} is in use (choose another with {how})")


def _child_env(settings: Settings, options: Options, state: Path, name: str) -> dict[str, str]:
    prom = state / "prom" / name
    shutil.rmtree(prom, ignore_errors=True)  # stale files would resurrect old counters
    prom.mkdir(parents=True)
    bindir = str(Path(sys.executable).parent)
    return {
        # Celery's own INFO lines (a drain tick and its receipt every second) would bury the
        # rest; the workers' JSON logs still follow CARTWHEEL_LOG_LEVEL.
        "CARTWHEEL_CELERY_LOG_LEVEL": "WARNING",
        **options.environ,
        **settings.to_env(),
        "CARTWHEEL_HOST": options.host,
        "CARTWHEEL_RECEIVER_PORT": str(options.receiver_port),
        "CARTWHEEL_DASHBOARD_PORT": str(options.dashboard_port),
        "CARTWHEEL_FLOWER_PORT": str(options.flower_port),
        "CARTWHEEL_RECEIVER_PUBLIC_URL": settings.receiver_public_url
        or f"http://{options.client_host}:{options.receiver_port}",
        "PROMETHEUS_MULTIPROC_DIR": str(prom),
        "PATH": os.pathsep.join([bindir, options.environ.get("PATH", os.defpath)]),
        "PYTHONUNBUFFERED": "1",
    }


def _ready_urls(
    options: Options, settings: Settings, procfile: Mapping[str, str]
) -> dict[str, str]:
    host = options.client_host
    urls = {
        "receiver": f"http://{host}:{options.receiver_port}/healthz",
        "dashboard": f"http://{host}:{options.dashboard_port}/healthz",
        "flower": f"http://{host}:{options.flower_port}/healthcheck",
    }
    if settings.worker_metrics_port:
        urls["worker"] = _worker_metrics_url(settings)
    if settings.sync_metrics_port:
        # The sync pool is ready once its own metrics endpoint answers.
        urls["sync"] = _worker_metrics_url(settings, settings.sync_metrics_port)
    return {name: url for name, url in urls.items() if name in procfile}


def _client(host: str) -> str:
    """The address to give clients of a server listening on `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104


def _worker_metrics_url(settings: Settings, port: int | None = None) -> str:
    host = _client(settings.worker_metrics_host)
    return f"http://{host}:{port or settings.worker_metrics_port}/metrics"


def _wait_ready(sup: Supervisor, urls: Mapping[str, str], timeout: float) -> None:
    pending = dict(urls)
    deadline = time.monotonic() + timeout
    while pending:
        sup.check()
        for name, url in list(pending.items()):
            with contextlib.suppress(requests.RequestException):
                if requests.get(url, timeout=2).status_code < 500:
                    del pending[name]
        if pending and time.monotonic() > deadline:
            raise LaunchError(f"not ready after {timeout:.0f}s: {', '.join(pending)}")
        if pending:
            time.sleep(0.25)


def _banner(options: Options, settings: Settings, demo: DemoTenant | None) -> str:
    host = options.client_host
    rows = [
        ("dashboard", f"http://{host}:{options.dashboard_port}/"),
        ("receiver", f"http://{host}:{options.receiver_port}/webhooks"),
        ("dashboard API", f"http://{host}:{options.dashboard_port}/healthz"),
        ("Flower", f"http://{host}:{options.flower_port}"),
        ("receiver metrics", f"http://{host}:{options.receiver_port}/metrics"),
    ]
    if settings.worker_metrics_port:
        rows.append(("worker metrics", _worker_metrics_url(settings)))
    if settings.sync_metrics_port:
        rows.append(("sync metrics", _worker_metrics_url(settings, settings.sync_metrics_port)))
    rows += [("database", settings.database_url), ("redis", settings.redis_url)]
    text = ["", "cartwheel is running. Ctrl-C stops everything.", ""]
    text += [f"  {label:<17} {value}" for label, value in rows]
    if demo is not None:
        text += [
            f"  {'demo shop':<17} {demo.shop}  (secret in .cartwheel/demo.json)",
            f"  {'demo login':<17} {demo.email}  password {demo.password}",
            "",
            "Deliver Shopify's sample orders/create webhook, signed for the demo shop:",
            "",
            sample_curl(demo),
            "",
            "Then `cartwheel tenants list` here, or `cartwheel simulate` for steady traffic.",
        ]
    return "\n".join(text) + "\n\n"
