"""The summary table and the JSON results file."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.analytics import report_rows as analytics_rows
from bench.clv import report_rows as clv_rows
from bench.insights import report_rows as insights_rows
from bench.products import report_rows as products_rows
from bench.services import ROOT

RESULTS = ROOT / "bench" / "results"
RECEIVER_TARGET = 0.55
DRAIN_TARGET = 0.50
DRAIN_CPU_TARGET = 0.35  # ms of drain-process CPU per event
P99_TARGET = 1.0


def machine() -> dict[str, Any]:
    """What the figures depend on besides the code."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "commit": commit or None,
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str, str]]:
    """(figure, value, baseline, ratio, target, verdict) per measured figure."""
    out = []
    if rx := results.get("receiver"):
        ratio = rx["ratio"]
        out.append((
            "receiver accepted/s", f"{rx['receiver']['accepted_per_s']:,.0f}/s",
            f"{rx['bare']['accepted_per_s']:,.0f}/s bare Flask", f"{ratio:.2f}x",
            f">= {RECEIVER_TARGET}x", _verdict(ratio >= RECEIVER_TARGET),
        ))  # fmt: skip
    if dr := results.get("drain"):
        ratio = dr["ratio"]
        out.append((
            "drain events/s", f"{dr['drain']['events_per_s']:,.0f}/s",
            f"{dr['baseline']['rows_per_s']:,.0f}/s plain upsert", f"{ratio:.2f}x",
            f">= {DRAIN_TARGET}x", _verdict(ratio >= DRAIN_TARGET and dr["complete"]),
        ))  # fmt: skip
        cpu = dr["drain"]["client_cpu_ms_per_event"]
        plain = dr["baseline"]["client_cpu_ms_per_row"]
        out.append((
            "drain CPU per event", f"{cpu:.3f} ms", f"{plain:.3f} ms plain upsert", "-",
            f"<= {DRAIN_CPU_TARGET} ms", _verdict(cpu <= DRAIN_CPU_TARGET),
        ))  # fmt: skip
        if typed := dr.get("baseline_typed_only"):
            out.append((
                "  (typed columns only)", "", f"{typed['rows_per_s']:,.0f}/s no payload",
                f"{typed['ratio']:.2f}x", "info", "-",
            ))  # fmt: skip
    if lat := results.get("latency"):
        p = lat["to_processed_at"]
        ok = p["p99"] <= P99_TARGET and lat["rows_missing"] == 0 and lat["not_accepted"] == 0
        seen = lat["to_seen_by_poll"]
        # Beside it, when a poll first saw the row: an upper bound on the commit time.
        out.append((
            f"latency p50 @{lat['rate']:g}/s", f"{p['p50']:.3f} s",
            f"{seen['p50']:.3f} s seen by poll", "-", "-", "-",
        ))  # fmt: skip
        out.append((
            f"latency p99 @{lat['rate']:g}/s", f"{p['p99']:.3f} s",
            f"{seen['p99']:.3f} s seen by poll", "-", f"<= {P99_TARGET:g} s", _verdict(ok),
        ))  # fmt: skip
    if live := results.get("live"):
        p = live["accepted_to_browser"]
        row = live["sent_to_row"]
        out.append((
            f"live event p99, {live['clients']} clients @{live['rate']:g}/s", f"{p['p99']:.3f} s",
            f"{row['p99']:.3f} s webhook to row", f"{p['p99'] / row['p99']:.2f}x"
            if row["p99"] else "-", f"<= {live['target_p99_s']:g} s", _verdict(live["passed"]),
        ))  # fmt: skip
        out.append((
            "  (live p50; events read)", f"{p['p50']:.3f} s", f"{row['p50']:.3f} s to row",
            f"{live['events_read']:,} events", f"{live['connected']}/{live['clients']} open", "-",
        ))  # fmt: skip
    for phase, error in results.get("errors", {}).items():
        out.append((phase, "error", error[:40], "-", "-", "FAIL"))
    if ins := results.get("insights"):
        out.extend(insights_rows(ins))
    if ca := results.get("analytics"):
        out.extend(analytics_rows(ca))
    if clv := results.get("clv"):
        out.extend(clv_rows(clv))
    if products := results.get("products"):
        out.extend(products_rows(products))
    if bf := results.get("backfill"):
        large = bf["large"]
        out.append((
            f"backfill rows/s ({large['orders']:,} orders)", f"{large['rows_per_second']:,}/s",
            f"peak RSS {large['peak_rss_mib']:.0f} MiB", f"{bf['memory_growth']:.2f}x mem",
            "flat memory", "-",
        ))  # fmt: skip
    return out


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def table(results: dict[str, Any]) -> str:
    """The compact table printed at the end of a run."""
    header = ("figure", "measured", "baseline", "ratio", "target", "result")
    body = rows(results)
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in body]
    rule = "  ".join("-" * w for w in widths)
    head = "  ".join(cell.ljust(w) for cell, w in zip(header, widths, strict=True))
    return "\n".join([head, rule, *lines])


def notes(results: dict[str, Any]) -> list[str]:
    """What a reader of the table should know to trust (or distrust) it."""
    out = []
    if (lat := results.get("latency")) and lat["sender_lateness"]["p99"] > 0.25:
        out.append(
            f"latency: deliveries left up to {lat['sender_lateness']['p99']:.2f} s (p99) after "
            f"their due time: the receiver could not take {lat['rate']:g}/s on this machine "
            "now, and that queueing is part of the latency."
        )
    if (dr := results.get("drain")) and dr["stopped_at_time_cap"]:
        out.append(f"drain: stopped at its time cap after {dr['drain']['processed']} events.")
    load = results["machine"]["load_average_before"][0]
    cpus = results["machine"]["cpus"] or 1
    if load > cpus / 2:
        out.append(f"machine: load average {load} on {cpus} cores at the start; figures are noisy.")
    return out


def all_passed(results: dict[str, Any]) -> bool:
    return all(r[5] != "FAIL" for r in rows(results))


def write(results: dict[str, Any]) -> Path:
    """bench/results/latest.json (git-ignored)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(_finite(results), indent=2, default=str) + "\n")
    return path


def _finite(value: Any) -> Any:
    """JSON has no NaN: an unmeasured figure becomes null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


DOCS = ROOT / "docs" / "benchmarks.md"
_START, _END = "<!-- bench:figures:start -->", "<!-- bench:figures:end -->"


def figures_markdown(results: dict[str, Any], generator: str) -> str:
    """The figures of a run as the benchmarks page shows them."""
    m = results["machine"]
    header = ("figure", "measured", "baseline", "ratio", "target", "result")
    lines = [
        f"Measured by `make bench` at commit `{m['commit']}` on {m['started_at'][:10]}: "
        f"{m['cpus']} cores, {m['platform']}, Python {m['python']}, load generator {generator}, "
        f"load average {m['load_average_before'][0]} at the start, "
        f"{m['wall_seconds']:.0f} s in all.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(c.strip() or " " for c in row) + " |" for row in rows(results)]
    for note in notes(results):
        lines += ["", f"Note: {note}"]
    return "\n".join(lines)


def write_docs(results: dict[str, Any], generator: str, path: Path = DOCS) -> bool:
    """Put a complete run's figures between the markers of the benchmarks page."""
    if not path.exists():
        return False
    text = path.read_text()
    if _START not in text or _END not in text:
        return False
    head, rest = text.split(_START, 1)
    _, tail = rest.split(_END, 1)
    path.write_text(f"{head}{_START}\n{figures_markdown(results, generator)}\n{_END}{tail}")
    return True
