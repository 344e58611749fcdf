"""A small process supervisor for `cartwheel run`: the Procfile's processes in one terminal.

Each child runs in its own process group, so the terminal's Ctrl-C reaches only the launcher,
which then stops every child in order: SIGTERM to each child, a grace period, SIGKILL for
whatever is left of its group. Output lines are prefixed with the child's name.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import IO

import psutil

from core.errors import CartwheelError

_ENTRY = re.compile(r"^([A-Za-z0-9_-]+):\s*(.+)$")


class ChildDied(CartwheelError, RuntimeError):
    """A supervised process exited while it was meant to run."""

    def __init__(self, name: str, code: int) -> None:
        super().__init__(f"{name} exited unexpectedly with code {code}")
        self.name, self.code = name, code


def read_procfile(path: Path) -> dict[str, str]:
    """`name: command` lines, in order (blank lines and # comments ignored)."""
    entries: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = _ENTRY.match(line.strip())
        if match and not line.lstrip().startswith("#"):
            entries[match[1]] = match[2]
    return entries


class Output:
    """Writes whole lines to one stream from many threads, each prefixed with its source."""

    def __init__(self, stream: IO[str] | None = None, width: int = 9) -> None:
        self.stream = stream or sys.stdout
        self.width = width
        self._lock = threading.Lock()

    def line(self, name: str, text: str) -> None:
        self.write(f"{name:<{self.width}} | {text}\n")

    def write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text)
            self.stream.flush()


class Child:
    """One Procfile entry running under `sh -c 'exec <command>'` in a new process group."""

    def __init__(self, name: str, command: str, env: Mapping[str, str], out: Output) -> None:
        self.name = name
        self.out = out
        self.popen = subprocess.Popen(
            ["/bin/sh", "-c", f"exec {command}"],
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started = psutil.Process(self.popen.pid).create_time()
        self._pump = threading.Thread(target=self._copy_output, name=f"out-{name}", daemon=True)
        self._pump.start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _copy_output(self) -> None:
        assert self.popen.stdout is not None
        for raw in iter(self.popen.stdout.readline, b""):
            self.out.line(self.name, raw.decode(errors="replace").rstrip())

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def signal_leader(self, sig: int) -> None:
        """Signal the process itself, which stops its own children in order (a Celery worker
        lets its pool finish the tasks in hand; gunicorn, its requests in flight)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def group_alive(self) -> bool:
        """True while the child or anything it started (gunicorn and Celery pools) runs."""
        self.popen.poll()  # reap the leader, or a zombie keeps the group "alive"
        return _group_alive(self.pid)

    def finish(self) -> None:
        self.popen.wait()
        self._pump.join(timeout=2)
        if self.popen.stdout is not None:
            self.popen.stdout.close()


class Supervisor:
    """Starts children, watches them, and stops them all (also on a second signal: at once)."""

    def __init__(self, out: Output, stop_timeout: float, pids_file: Path) -> None:
        self.out = out
        self.stop_timeout = stop_timeout
        self.pids_file = pids_file
        self.children: list[Child] = []
        self.hurry = threading.Event()

    def start(self, name: str, command: str, env: Mapping[str, str]) -> Child:
        child = Child(name, command, env, self.out)
        self.children.append(child)
        self.out.line("cartwheel", f"started {name} (pid {child.pid})")
        self._record()
        return child

    def check(self) -> None:
        """Raise ChildDied if any child has exited."""
        for child in self.children:
            code = child.popen.poll()
            if code is not None:
                raise ChildDied(child.name, code)

    def stop(self) -> None:
        """SIGTERM every child, wait up to stop_timeout, SIGKILL what is left of its group, reap.

        Only the child itself gets the SIGTERM: a signal to the whole group would reach a
        Celery worker's pool processes too and kill them mid-batch.
        """
        running = [c for c in self.children if c.group_alive()]
        for child in running:
            child.signal_leader(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline and not self.hurry.is_set():
            if not any(c.group_alive() for c in running):
                break
            time.sleep(0.1)
        for child in running:
            if child.group_alive():
                self.out.line("cartwheel", f"{child.name} did not stop in time; killing it")
                child.signal_group(signal.SIGKILL)
        for child in self.children:
            child.finish()
            code = child.popen.returncode
            self.out.line("cartwheel", f"{child.name} stopped (exit code {code})")
        self.pids_file.unlink(missing_ok=True)

    def _record(self) -> None:
        # Lets the next launcher stop what this one left if it was killed before it could.
        entries = [{"name": c.name, "pid": c.pid, "started": c.started} for c in self.children]
        self.pids_file.write_text(json.dumps(entries))


def stop_leftovers(pids_file: Path, out: Output, timeout: float = 15.0) -> None:
    """Stop the process groups a killed launcher left running (same pid and start time)."""
    if not pids_file.exists():
        return
    try:
        entries = json.loads(pids_file.read_text())
    except ValueError:
        entries = []
    groups: list[int] = []
    for entry in entries:
        try:
            same = psutil.Process(entry["pid"]).create_time() == entry["started"]
        except (psutil.NoSuchProcess, KeyError, TypeError):
            continue
        if same:
            out.line("cartwheel", f"stopping {entry['name']} (pid {entry['pid']}) left running")
            os.killpg(entry["pid"], signal.SIGTERM)
            groups.append(entry["pid"])
    deadline = time.monotonic() + timeout
    while any(_group_alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    for group in groups:
        if _group_alive(group):
            os.killpg(group, signal.SIGKILL)
    pids_file.unlink(missing_ok=True)


@contextlib.contextmanager
def run_lock(state: Path, error: type[Exception]) -> Iterator[None]:
    """Hold state/run.lock for the duration; raise `error` if another launcher holds it."""
    with (state / "run.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise error(f"another `cartwheel run` is using {state}") from exc
        yield


class StopSignals:
    """SIGINT and SIGTERM stop the stack; a second one during the stop kills at once."""

    def __init__(self) -> None:
        self.stopping = False
        self.on_second_signal: Callable[[], None] | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            self.stopping = True
            raise KeyboardInterrupt
        if self.on_second_signal is not None:
            self.on_second_signal()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """Handle both signals here for the duration, then restore the previous handlers."""
        previous = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still counts as a member until its parent reaps it, yet it has finished.
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except ProcessLookupError:
            continue
    return False
