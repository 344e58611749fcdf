"""Closed-loop HTTP load: wrk with a Lua script when installed, else Python client processes.

Both send the same body and headers over and over for a warm-up and then a measured window,
and count only 200 answers completed inside the window.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

# wrk reconnects by itself when a sync gunicorn worker closes the connection after each answer.
_WRK_SCRIPT = """
local f = assert(io.open({body_path}, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
{headers}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{{"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d}}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass
class Load:
    accepted: int  # 200 answers inside the measured window
    other: int  # other statuses and socket errors inside the window
    seconds: float

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds


def generator_name(choice: str) -> str:
    """'wrk' or 'python' for the requested choice ('auto' prefers wrk when installed)."""
    if choice == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if choice == "wrk" and not shutil.which("wrk"):
        raise RuntimeError("wrk is not installed (apt-get install wrk), use --loadgen python")
    return choice


def run_load(
    generator: str,
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    warmup: float,
    seconds: float,
    connections: int,
    workdir: Path,
) -> Load:
    """Warm up (if `warmup` > 0), then load `url` for `seconds`; returns that window's count."""
    if generator == "wrk":
        if warmup > 0:
            _wrk(url, body, headers, warmup, connections, workdir)
        return _wrk(url, body, headers, seconds, connections, workdir)
    return _python(url, body, headers, warmup, seconds, connections)


def _wrk(
    url: str, body: bytes, headers: dict[str, str], seconds: float, conns: int, workdir: Path
) -> Load:
    body_path = workdir / "wrk-body.json"
    body_path.write_bytes(body)
    # JSON string literals are valid Lua string literals for these ASCII values.
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    script = workdir / "wrk-post.lua"
    script.write_text(_WRK_SCRIPT.format(body_path=json.dumps(str(body_path)), headers=lines))
    # One wrk thread drives thousands of requests/s; a second would only steal a core.
    args = ["wrk", "-t1", f"-c{conns}", f"-d{seconds:g}s", "--timeout", "5s", "-s", str(script),
            url]  # fmt: skip
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        out, _ = proc.communicate(timeout=seconds + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.decode(errors="replace")
    summary = next((ln for ln in reversed(text.splitlines()) if ln.startswith("{")), None)
    if proc.returncode != 0 or summary is None:
        raise RuntimeError(f"wrk failed:\n{text[-2000:]}")
    s = json.loads(summary)
    errors = s["status_errors"] + s["socket_errors"]
    return Load(s["requests"] - s["status_errors"], errors, s["duration_us"] / 1e6)


def _python(
    url: str, body: bytes, headers: dict[str, str], warmup: float, seconds: float, conns: int
) -> Load:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = _request_bytes(host, port, parts.path, body, headers)
    start = time.monotonic() + 0.5  # let every process get going before the clock starts
    window = (start + warmup, start + warmup + seconds)
    ctx = mp.get_context("fork")
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_client, args=(host, port, request, window, results), daemon=True)
        for _ in range(conns)
    ]
    for p in procs:
        p.start()
    try:
        counts = [results.get(timeout=warmup + seconds + 30) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=2)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
    return Load(sum(c[0] for c in counts), sum(c[1] for c in counts), seconds)


def _request_bytes(host: str, port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _client(
    host: str, port: int, request: bytes, window: tuple[float, float], results: mp.Queue
) -> None:
    """One connection, one request in flight, kept alive when the server allows it.

    Raw sockets and a pre-built request: http.client's header handling cost so much CPU that
    on two cores the client, not the server, set the pace.
    """
    # The parent owns Ctrl-C and stops us; undo the handlers inherited from it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    sock: socket.socket | None = None
    accepted = other = 0
    opens, closes = window
    while (now := time.monotonic()) < closes:
        try:
            if sock is None:
                sock = socket.create_connection((host, port), timeout=10)
            sock.sendall(request)
            status, keep_alive = _read_response(sock)
            ok = status == 200
        except (OSError, ValueError):
            ok, keep_alive = False, False
        if not keep_alive and sock is not None:
            sock.close()
            sock = None
        done = time.monotonic()
        if now >= opens and done < closes:
            accepted += ok
            other += not ok
    if sock is not None:
        sock.close()
    results.put((accepted, other))


def _read_response(sock: socket.socket) -> tuple[int, bool]:
    """(status, whether the connection stays open); the body is read and dropped."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += _recv(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, keep_alive = -1, True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            keep_alive = value.strip().lower() != b"close"
    if length < 0:  # no length: the body ends with the connection
        with contextlib.suppress(ConnectionError):
            while True:
                body += _recv(sock)
        return status, False
    while len(body) < length:
        body += _recv(sock)
    return status, keep_alive


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise ConnectionError("closed by the server")
    return chunk
