"""Reading and parsing request bodies so that no input can stall a worker or make it answer 500.

A body is read against a deadline: under gevent (the receiver's gunicorn workers) the whole read
is bounded by a gevent timeout, so a client trickling a byte at a time is cut off; elsewhere each
socket read is bounded, so a client that stops sending is. JSON is parsed so that nesting, huge
numbers and non-finite numbers are a 400, never a RecursionError or an `inf`.
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
from typing import Any

import orjson
from flask import request


class BodyTimeout(Exception):
    """The client did not send its body within the deadline."""


class BadJson(ValueError):
    """The body is not JSON cartwheel accepts."""


def cooperative() -> bool:
    """Whether this process runs under gevent (sockets patched)."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    return bool(monkey.is_module_patched("socket"))


def read_body(limit: int, seconds: float) -> bytes:
    """At most `limit + 1` bytes of the request body, within `seconds` (else BodyTimeout)."""
    sock = request.environ.get("gunicorn.socket")
    try:
        if cooperative():
            import gevent

            with gevent.Timeout(seconds, BodyTimeout):
                return request.stream.read(limit + 1)
        if isinstance(sock, socket.socket):
            sock.settimeout(seconds)
        return request.stream.read(limit + 1)
    except OSError as exc:  # a socket timeout, or the client went away
        raise BodyTimeout from exc


def cut_off() -> None:
    """Stop reading the connection after a timed-out body, so gunicorn does not wait for the
    rest of it before closing; the error answer is still written."""
    sock = request.environ.get("gunicorn.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RD)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJson(f"number {text[:20]!r} is out of range")
    return value


def _no_constants(name: str) -> Any:
    raise BadJson(f"{name} is not JSON")


def parse_json(body: bytes) -> Any:
    """The body as JSON; raises BadJson for anything that is not (nor accepted by the drain).

    orjson reads the common case several times faster; it accepts strict JSON only and refuses
    nesting deeper than 1024, so whatever it refuses is decided by json.loads, which refuses
    NaN, Infinity, out-of-range floats and integers over Python's digit limit.
    """
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body.decode("utf-8"), parse_float=_finite, parse_constant=_no_constants)
    except RecursionError as exc:
        raise BadJson("nested too deeply") from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadJson(str(exc)[:200]) from exc
