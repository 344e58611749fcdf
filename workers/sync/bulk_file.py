"""Join a bulk result's children to their parents in bounded memory, whatever the file size.

A JSONL result puts each nested child on its own line with `__parentId`, and children need not
be adjacent to their parent: one may come thousands of lines later, or at the very end. Holding
parents until their last child shows up would need memory proportional to the file. Instead
the download is split on the fly into buckets on disk by a hash of the root object's id, so a
parent and all its children always land in the same bucket; each bucket (about
`bucket_bytes`, a few MiB) is then read, joined and written on its own. Peak memory is one
bucket, disk use is one copy of the file, and a bucket is also the unit of the checkpoint.
"""

from __future__ import annotations

import json
import math
import shutil
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

MAX_BUCKETS = 512  # open files while splitting; past this, buckets simply grow
_MARKER = "complete.json"
_PARENT = b'"__parentId":"'
_ROOT = b'{"id":"'


def bucket_count(file_size: int, bucket_bytes: int) -> int:
    """How many buckets to split a result of `file_size` bytes into."""
    return max(1, min(MAX_BUCKETS, math.ceil(file_size / max(1, bucket_bytes))))


def root_of(line: bytes) -> str:
    """The id of the root object a line belongs to (its own id, or its `__parentId`).

    `"__parentId":"` cannot occur inside a JSON string (its quotes would be escaped), so a
    byte search is exact; anything unusual falls back to parsing the line.
    """
    at = line.rfind(_PARENT)
    if at >= 0:
        start = at + len(_PARENT)
        return line[start : line.index(b'"', start)].decode()
    if line.startswith(_ROOT):
        return line[len(_ROOT) : line.index(b'"', len(_ROOT))].decode()
    obj = json.loads(line)
    return str(obj.get("__parentId") or obj["id"])


def split(lines: Iterable[bytes], directory: Path, buckets: int, tag: str) -> int:
    """Write every line to its bucket file; returns the line count. Marks the split complete."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    files = [(directory / f"{i:04d}.jsonl").open("wb", buffering=1 << 16) for i in range(buckets)]
    count = 0
    try:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            files[zlib.crc32(root_of(line).encode()) % buckets].write(line + b"\n")
            count += 1
    finally:
        for f in files:
            f.close()
    (directory / _MARKER).write_text(json.dumps({"buckets": buckets, "lines": count, "tag": tag}))
    return count


def completed_split(directory: Path, tag: str) -> int | None:
    """The bucket count of a finished split of the same result, or None."""
    try:
        marker = json.loads((directory / _MARKER).read_text())
    except (OSError, ValueError):
        return None
    return int(marker["buckets"]) if marker.get("tag") == tag else None


def read_bucket(
    directory: Path, index: int
) -> tuple[list[tuple[dict[str, Any], list[dict[str, Any]]]], int, int]:
    """(parent, children) pairs of one bucket in file order, its line count and orphan count."""
    parents: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    early: dict[str, list[dict[str, Any]]] = {}
    lines = 0
    with (directory / f"{index:04d}.jsonl").open("rb") as f:
        for raw in f:
            lines += 1
            obj = json.loads(raw)
            parent = obj.pop("__parentId", None)
            if parent is None:
                parents[obj["id"]] = (obj, early.pop(obj["id"], []))
            elif parent in parents:
                parents[parent][1].append(obj)
            else:
                early.setdefault(parent, []).append(obj)  # a child before its parent
    orphans = sum(len(v) for v in early.values())
    return list(parents.values()), lines, orphans


def remove(directory: Path) -> None:
    """Delete a split once its buckets are applied."""
    shutil.rmtree(directory, ignore_errors=True)
