"""`cartwheel run`: the whole system on this machine (what `make run` starts)."""

from __future__ import annotations

from pathlib import Path

import click

from cartwheel.demo import HISTORY_DAYS, HISTORY_DELIVERIES
from cartwheel.embedded import EmbeddedError
from cartwheel.launcher import LaunchError, Options, launch


@click.command("run")
@click.option(
    "--host",
    envvar="CARTWHEEL_HOST",
    default="127.0.0.1",
    show_default=True,
    help="Address the receiver, dashboard API and Flower listen on.",
)
@click.option("--receiver-port", envvar="CARTWHEEL_RECEIVER_PORT", default=8000, show_default=True)
@click.option(
    "--dashboard-port", envvar="CARTWHEEL_DASHBOARD_PORT", default=8001, show_default=True
)
@click.option("--flower-port", envvar="CARTWHEEL_FLOWER_PORT", default=5555, show_default=True)
@click.option(
    "--redis-port",
    envvar="CARTWHEEL_REDIS_PORT",
    default=6390,
    show_default=True,
    help="Port of the embedded Redis (unused when REDIS_URL is set).",
)
@click.option(
    "--stop-timeout",
    default=20.0,
    show_default=True,
    help="Seconds each process gets to stop before it is killed.",
)
@click.option("--no-demo", is_flag=True, help="Do not create the demo tenant.")
@click.option(
    "--demo-history",
    envvar="CARTWHEEL_DEMO_HISTORY",
    type=click.IntRange(min=0),
    default=HISTORY_DELIVERIES,
    show_default=True,
    help=f"Deliveries of generated history (over {HISTORY_DAYS} days) sent through the "
    "receiver to the demo shop on its first start; 0 for none.",
)
@click.option(
    "--procfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The Procfile to run (default: the project's).",
)
def run(
    host: str,
    receiver_port: int,
    dashboard_port: int,
    flower_port: int,
    redis_port: int,
    stop_timeout: float,
    no_demo: bool,
    demo_history: int,
    procfile: Path | None,
) -> None:
    """Start receiver, dashboard API, worker, beat and Flower; Ctrl-C stops them all.

    Without DATABASE_URL / REDIS_URL, embedded PostgreSQL and Redis keep their data in
    ./.cartwheel/. Worker metrics listen on CARTWHEEL_WORKER_METRICS_PORT (default 9808).
    """
    options = Options(
        host=host,
        receiver_port=receiver_port,
        dashboard_port=dashboard_port,
        flower_port=flower_port,
        redis_port=redis_port,
        stop_timeout=stop_timeout,
        demo=not no_demo,
        demo_history=demo_history,
        procfile=procfile,
    )
    try:
        code = launch(options)
    except (LaunchError, EmbeddedError) as exc:
        raise click.ClickException(str(exc)) from exc
    raise SystemExit(code)
