"""Gunicorn settings of the receiver and the dashboard API.

Use with `gunicorn --config python:cartwheel.gunicorn_conf`.
Tune per deployment with WEB_CONCURRENCY (worker processes), GUNICORN_THREADS and
GUNICORN_WORKER_CLASS.

The receiver runs gevent workers: a client trickling its body a byte at a time holds a greenlet,
not a process, so signed deliveries keep being answered while hundreds of slow connections are
open (Shopify gives up on a delivery after 5 s), and the receiver cuts such a body off after
CARTWHEEL_BODY_READ_SECONDS. psycopg2 is made cooperative (psycogreen) so a tenant lookup
does not stall the other greenlets.

The dashboard runs threaded workers (gthread): each open live stream (GET /api/live, Server-
Sent Events) holds a thread, waiting, so GUNICORN_THREADS per process (default 256) bounds the
streams a process serves beside its ordinary requests; the reports' own work stays in the
process's threads and memory (dashboard_api/queries/columns.py) as before.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from prometheus_client import multiprocess

# The receiver's work per request is short and CPU-bound (HMAC, one pipelined XADD), so
# processes, not threads, are what scale it; one more than the cores covers time spent in I/O.
workers = int(os.environ.get("WEB_CONCURRENCY", (os.cpu_count() or 1) + 1))
# The app is the last argument, e.g. 'receiver:create_app()'.
_RECEIVER = any(arg.startswith("receiver:") for arg in sys.argv[1:])
_DASHBOARD = any(arg.startswith("dashboard_api:") for arg in sys.argv[1:])
threads = int(os.environ.get("GUNICORN_THREADS", "256" if _DASHBOARD else "1"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS") or (
    "gevent" if _RECEIVER else "gthread" if _DASHBOARD else "sync"
)
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
timeout = 30
# Each worker builds its app, and opens its own Redis connection, after the fork.
preload_app = False
# Shorter than the launcher's stop timeout, so a stop never has to SIGKILL a healthy server.
graceful_timeout = 15
keepalive = 5
# The worker heartbeat file (created with mkstemp); a tmpfs avoids stalls on slow or overlay
# disks, as in containers.
_SHM = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
# Gunicorn 25+ opens a control socket at one fixed path per user, which a second server (the
# dashboard beside the receiver) cannot share; nothing here uses it.
control_socket_disable = True
errorlog = "-"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
loglevel = os.environ.get("CARTWHEEL_LOG_LEVEL", "info").lower()
# Every line JSON, the apps' own (with their fields) and gunicorn's, on stderr. The access log
# stays off unless GUNICORN_ACCESS_LOG is set.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "core.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": loglevel.upper(), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["stderr"], "propagate": False},
        "gunicorn.access": {
            "level": "INFO" if accesslog else "WARNING",
            "handlers": ["stderr"],
            "propagate": False,
        },
    },
}
# Behind a proxy, set FORWARDED_ALLOW_IPS to its address so client addresses are logged right.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker: Any) -> None:
    """In the dashboard, a stop signal first ends the open live streams, so the graceful
    stop does not wait for browsers to hang up."""
    if not _DASHBOARD:
        return
    from dashboard_api import live

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        previous = signal.getsignal(sig)

        def handler(signum: int, frame: Any, previous: Any = previous) -> None:
            live.stop()
            if callable(previous):
                previous(signum, frame)

        signal.signal(sig, handler)


def post_fork(server: Any, worker: Any) -> None:
    """Under gevent, let psycopg2 wait on the event loop instead of blocking the process."""
    if "gevent" in str(server.cfg.worker_class_str):
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the multiprocess metrics directory."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
