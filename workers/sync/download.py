"""Bulk result downloads: capped in total bytes, in one line's length and in time.

A result file comes from a URL the Admin API reports, so its size and shape are not ours to
trust: a line without a newline, an endless body or a server that trickles a byte at a time
must fail the run, not hold a pool process. Lines are split in linear time with memory bounded
by the line cap: the buffer only ever holds the unfinished line, and each byte is scanned for a
newline once (a buffer re-copied and re-split per chunk is quadratic in the line's length).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from core.errors import CartwheelError
from core.settings import Settings


class DownloadError(CartwheelError):
    """A bulk result download exceeded a cap; nothing of it is applied."""


def _default(name: str) -> Any:
    return next(f.default for f in fields(Settings) if f.name == name)


@dataclass(frozen=True)
class DownloadLimits:
    """The caps of one download (defaults: the settings' defaults)."""

    max_bytes: int = _default("download_max_bytes")
    max_line_bytes: int = _default("download_max_line_bytes")
    max_seconds: float = _default("download_max_seconds")
    bulk_result_hosts: ClassVar[str] = _default("bulk_result_hosts")

    @classmethod
    def from_settings(cls, settings: Settings) -> DownloadLimits:
        """The caps configured for this process."""
        return cls(
            settings.download_max_bytes,
            settings.download_max_line_bytes,
            settings.download_max_seconds,
        )


@dataclass
class LineSplitter:
    """Splits a stream of chunks into non-blank lines; counts the bytes it copies."""

    max_line_bytes: int
    copied: int = 0  # bytes appended to the buffer, cut out as lines or moved by compaction
    _buffer: bytearray = field(default_factory=bytearray)
    _scanned: int = 0  # buffer bytes already known to hold no newline

    def feed(self, chunk: bytes) -> Iterator[bytes]:
        """The lines `chunk` completes."""
        buffer = self._buffer
        buffer += chunk
        self.copied += len(chunk)
        start = 0
        while (end := buffer.find(b"\n", self._scanned)) >= 0:
            line = bytes(buffer[start:end])
            self.copied += len(line)
            start = self._scanned = end + 1
            if line.strip():
                yield line
        if start:
            self.copied += len(buffer) - start
            del buffer[:start]
        self._scanned = len(buffer)
        if len(buffer) > self.max_line_bytes:
            raise DownloadError(f"a bulk result line is longer than {self.max_line_bytes} bytes")

    def close(self) -> Iterator[bytes]:
        """The last line, when the file does not end with a newline."""
        line = bytes(self._buffer)
        self._buffer.clear()
        if line.strip():
            yield line


def capped_lines(
    chunks: Iterable[bytes],
    limits: DownloadLimits,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[bytes]:
    """The lines of a download, failing once it passes its byte, line or time cap."""
    deadline = clock() + limits.max_seconds
    received = 0
    splitter = LineSplitter(limits.max_line_bytes)
    for chunk in chunks:
        received += len(chunk)
        if received > limits.max_bytes:
            raise DownloadError(f"the bulk result is larger than {limits.max_bytes} bytes")
        if clock() > deadline:
            raise DownloadError(f"the bulk result download took over {limits.max_seconds:g}s")
        yield from splitter.feed(chunk)
    yield from splitter.close()
