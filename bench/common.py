"""What every benchmark shares: its command line, percentiles, and how it prints and keeps its figures."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

POSTGRES_URL_ENV = "TWOWAY_BENCH_POSTGRES_URL"
# Where figures are appended as JSON lines, one per benchmark run, for BENCHMARKS.md.
RESULTS_ENV = "TWOWAY_BENCH_RESULTS"


def arguments(description: str, *, extra: Sequence[tuple[str, dict[str, Any]]] = ()) -> argparse.Namespace:
    """The common command line: ``--quick`` (a smoke run under a minute) and ``--postgres URL``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a small run that checks the benchmark works")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(POSTGRES_URL_ENV) or os.environ.get("TWOWAY_TEST_POSTGRES_URL"),
        help=f"a PostgreSQL URL to measure too (default ${POSTGRES_URL_ENV}); skipped when unset",
    )
    for flag, options in extra:
        parser.add_argument(flag, **options)
    return parser.parse_args()


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) by the nearest-rank method: a value that was measured."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p99, max and mean of durations in seconds, as milliseconds."""
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 2),
        "p99_ms": round(percentile(seconds, 99) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 2),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    memory_kb = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0].split()
        memory_kb = int(first[1])
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain text table, as the benchmarks print them and BENCHMARKS.md quotes them."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells[1:]]
    return "\n".join(lines)


def record(name: str, quick: bool, figures: dict[str, Any]) -> None:
    """Print the figures as one JSON line and append them to ``$TWOWAY_BENCH_RESULTS`` if it is set."""
    line = json.dumps(
        {
            "benchmark": name,
            "quick": quick,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            **figures,
        }
    )
    print(line, flush=True)
    target = os.environ.get(RESULTS_ENV)
    if target:
        with open(target, "a") as out:
            out.write(line + "\n")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
