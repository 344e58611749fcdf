"""Bulk result downloads are capped in bytes, line length and time, and split in linear time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from shops.credentials import AdminApi
from tests.support.fake_admin import Canned
from workers.sync.client import ShopifyClient
from workers.sync.download import DownloadError, DownloadLimits, LineSplitter, capped_lines

MiB = 1024 * 1024


def client_for(server: Canned, **limits: float) -> ShopifyClient:
    """A client whose Admin API is the server (an operator's address, so its files are fetched)."""
    api = AdminApi(
        tenant_id=uuid.uuid4(),
        shop_domain="shop.myshopify.com",
        graphql_url=f"{server.url}/admin/api/2026-07/graphql.json",
        access_token="shpat_x",
        api_version="2026-07",
        operator_url=server.url,
    )
    client = ShopifyClient(api)
    client.limits = DownloadLimits(**limits)  # type: ignore[arg-type]
    return client


def endless(chunk: bytes, total: int) -> Iterator[bytes]:
    for _ in range(total // len(chunk)):
        yield chunk


def test_a_400_mib_line_without_newline_fails_at_the_line_cap() -> None:
    """The attack: one 400 MiB line. With a 1 MiB cap the run fails after about 1 MiB read."""
    body = endless(b"x" * (64 * 1024), 400 * MiB)
    with Canned(lambda path: (200, {}, body)) as server:
        client = client_for(server, max_line_bytes=MiB)
        with pytest.raises(DownloadError, match="line is longer than 1048576 bytes"):
            list(client.stream_lines(f"{server.url}/bulk-results/1.jsonl"))
        client.http.close()
    # The server stopped when the client hung up, far short of the 400 MiB it offered (kernel
    # socket buffers hold a few MiB more than the client read).
    assert server.sent < 64 * MiB


def test_the_byte_cap_is_enforced_on_many_short_lines() -> None:
    body = endless(b'{"id":"gid://shopify/Customer/1"}\n' * 1000, 50 * MiB)
    with Canned(lambda path: (200, {}, body)) as server:
        client = client_for(server, max_bytes=2 * MiB)
        seen = 0
        with pytest.raises(DownloadError, match="larger than 2097152 bytes"):
            for _ in client.stream_lines(f"{server.url}/r.jsonl"):
                seen += 1
        client.http.close()
    assert 0 < seen < 2 * MiB // 34 + 1
    assert server.sent < 40 * MiB


def test_the_time_cap_is_enforced_on_a_trickling_server() -> None:
    def trickle() -> Iterator[bytes]:
        for _ in range(600):  # a line every 0.05 s: 30 s in all, far past the 1 s cap
            time.sleep(0.05)
            yield b'{"id":"gid://shopify/Customer/1"}\n'

    lines = 0
    with Canned(lambda path: (200, {}, trickle())) as server:
        client = client_for(server, max_seconds=1.0)
        with pytest.raises(DownloadError, match="took over 1s"):
            for _ in client.stream_lines(f"{server.url}/r.jsonl"):
                lines += 1
        client.http.close()
    assert 0 < lines < 600  # it gave up long before the server was done


def test_a_file_within_the_caps_streams_every_line() -> None:
    lines = [f'{{"id":"gid://shopify/Customer/{i}"}}'.encode() for i in range(5000)]
    body = b"\n".join(lines) + b"\n\n"  # a blank line at the end is skipped
    with Canned(lambda path: (200, {}, [body[i : i + 777] for i in range(0, len(body), 777)])) as s:
        assert list(client_for(s).stream_lines(f"{s.url}/r.jsonl")) == lines


def test_the_splitter_copies_each_byte_a_bounded_number_of_times() -> None:
    """A 32 MiB line fed in 1 KiB chunks: linear work, where re-splitting per chunk copies
    the pending line once per chunk (about 32768 / 2 times the line)."""
    chunk, size = b"y" * 1024, 32 * MiB
    splitter = LineSplitter(max_line_bytes=64 * MiB)
    out = [line for _ in range(size // len(chunk)) for line in splitter.feed(chunk)]
    out += list(splitter.feed(b"\nshort\nlast"))
    out += list(splitter.close())
    assert [len(line) for line in out] == [size, 5, 4]
    assert splitter.copied <= 3 * (size + 16)


def test_lines_split_across_chunk_boundaries() -> None:
    data = b"a\nbb\n\n  \nccc\r\ndddd"
    for width in range(1, len(data) + 1):
        chunks = [data[i : i + width] for i in range(0, len(data), width)]
        assert list(capped_lines(chunks, DownloadLimits())) == [b"a", b"bb", b"ccc\r", b"dddd"]
