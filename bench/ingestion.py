"""Ingestion: events a second that twoway records, sustained, on SQLite and on PostgreSQL with one and
two replicas.

    python -m bench.ingestion [--quick] [--postgres URL] [--mix workspace|relevant|both] [--events N]
        [--concurrency 50]

Each run starts fresh `twoway run` processes on a fresh ledger, sends the same message events (each
sharing a new post) flat out, spread over the replicas, and stops the clock when the last one is
handled: its post recorded, its :eyes: reaction on the way, its claim done. The rate is events over
that time. PostgreSQL runs need ``--postgres`` (or $TWOWAY_BENCH_POSTGRES_URL).

The workspace mix (`bench.workspace_mix`, mostly chatter) shares its tracked posts first, then sends its
requests flat out and stops the clock when the ledger holds what the mix implies and no event is still
being handled. It reports what the mix left behind: rows stored and the database's growth in bytes, per
1,000 requests (the SQLite file with its WAL checkpointed; PostgreSQL's twoway tables with their
indexes and TOAST).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from itertools import cycle
from pathlib import Path
from typing import Any

from bench import workspace_mix
from bench.ack_latency import posts_in, wait_recorded
from bench.common import arguments, record, say, table
from bench.harness import TEAM, Slack, emulator, event_body, fire, replicas
from bench.pg import fresh_database

# Posts the workspace mix's thread replies, summaries, flags and commands are about: shared first.
TRACKED = 100


def ingest(
    slack: Slack, database_url: str, events: list[dict[str, Any]], count: int, concurrency: int
) -> dict[str, Any]:
    bodies = [event_body(e) for e in events]
    with replicas(slack, database_url, count, name=f"ingest-{count}") as urls:
        targets = cycle(urls)
        requests = [(next(targets), body, kind) for body, kind in bodies]
        started = time.monotonic()
        sent = fire(requests, concurrency=concurrency)
        acked = time.monotonic() - started
        recorded, _ = wait_recorded(database_url, len(bodies), timeout=600)
        took = time.monotonic() - started
        posts = posts_in(database_url)
    return {
        "replicas": count,
        "events": len(bodies),
        "non_200": sum(s.status != 200 for s in sent),
        "recorded": recorded,
        "posts": posts,
        "acked_per_s": round(len(bodies) / acked, 1),
        "recorded_per_s": round(recorded / took, 1),
        "seconds": round(took, 2),
    }


def ingest_workspace(
    slack: Slack,
    database_url: str,
    tracked: list[dict[str, Any]],
    mix: workspace_mix.Mix,
    count: int,
    concurrency: int,
) -> dict[str, Any]:
    """The workspace mix flat out, after its tracked posts are in; what it cost in rows and bytes."""
    with replicas(slack, database_url, count, name=f"workspace-{count}") as urls:
        targets = cycle(urls)
        fire(
            [(next(targets), body, kind) for body, kind in map(event_body, tracked)], concurrency=concurrency
        )
        workspace_mix.wait_ledger(database_url, TEAM, workspace_mix.Ledger(posts=len(tracked)))
        fire([(next(targets), body, kind) for body, kind in mix.setup], concurrency=concurrency)
        workspace_mix.wait_ledger(database_url, TEAM, workspace_mix.Ledger(posts=len(tracked)))
        before = workspace_mix.footprint(database_url)
        started = time.monotonic()
        sent = fire([(next(targets), body, kind) for body, kind in mix.bodies], concurrency=concurrency)
        acked = time.monotonic() - started
        held, _ = workspace_mix.wait_ledger(database_url, TEAM, mix.expected, timeout=600)
        took = time.monotonic() - started
        after = workspace_mix.footprint(database_url)
    per_1000 = 1000 / len(mix.bodies)
    return {
        "mix": "workspace",
        "replicas": count,
        "events": len(mix.bodies),
        "non_200": sum(s.status != 200 for s in sent),
        "expected": asdict(mix.expected),
        "held": asdict(held),
        "all_recorded": held.reached(mix.expected),
        "acked_per_s": round(len(mix.bodies) / acked, 1),
        "handled_per_s": round(len(mix.bodies) / took, 1),
        "seconds": round(took, 2),
        "rows_per_1000": round((after.rows - before.rows) * per_1000, 1),
        "bytes_per_1000": round((after.bytes - before.bytes) * per_1000),
    }


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0] if __doc__ else "ingestion",
        extra=[
            ("--events", {"type": int, "default": None, "help": "events per run (default 2000)"}),
            ("--concurrency", {"type": int, "default": 50}),
            (
                "--mix",
                {
                    "choices": ["workspace", "relevant", "both"],
                    "default": "both",
                    "help": "the workspace mix (mostly chatter), the all-relevant mix, or both (default)",
                },
            ),
        ],
    )
    count = args.events or (200 if args.quick else 2000)
    workdir = Path(tempfile.mkdtemp(prefix="twoway-bench-ingest-"))
    runs: dict[str, dict[str, Any]] = {}
    backends = [("sqlite", 1)] + ([("postgresql", 1), ("postgresql", 2)] if args.postgres else [])
    try:
        with emulator(workdir) as slack:
            if args.mix in ("relevant", "both"):
                say(f"writing {count} messages in the emulator")
                events = slack.message_events(count)
                for backend, replica_count in backends:
                    say(f"{backend}, {plural(replica_count)}, all-relevant mix")
                    with database(backend, args.postgres, workdir / "ingest.db") as url:
                        runs[f"{backend}, {plural(replica_count)}"] = ingest(
                            slack, url, events, replica_count, args.concurrency
                        )
            if args.mix in ("workspace", "both"):
                say(f"writing the workspace mix's {count} requests in the emulator")
                tracked = slack.message_events(TRACKED)
                mix = workspace_mix.build(slack, count, tracked=tracked, first_post=count + TRACKED)
                for backend, replica_count in backends:
                    say(f"{backend}, {plural(replica_count)}, workspace mix")
                    with database(backend, args.postgres, workdir / "workspace.db") as url:
                        runs[f"{backend}, {plural(replica_count)}, workspace mix"] = ingest_workspace(
                            slack, url, tracked, mix, replica_count, args.concurrency
                        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    relevant = {name: r for name, r in runs.items() if "mix" not in r}
    if relevant:
        print(
            table(
                f"Ingestion, {count} message events sent {args.concurrency} at a time",
                ["ledger", "non-200", "recorded", "posts", "acked/s", "recorded/s", "seconds"],
                [
                    [
                        name,
                        r["non_200"],
                        r["recorded"],
                        r["posts"],
                        r["acked_per_s"],
                        r["recorded_per_s"],
                        r["seconds"],
                    ]
                    for name, r in relevant.items()
                ],
            )
        )
    workspace = {name: r for name, r in runs.items() if "mix" in r}
    if workspace:
        print(
            table(
                f"Ingestion, the workspace mix: {count} requests sent {args.concurrency} at a time",
                ["ledger", "non-200", "ledger holds all", "acked/s", "handled/s", "rows/1k", "bytes/1k"],
                [
                    [
                        name,
                        r["non_200"],
                        r["all_recorded"],
                        r["acked_per_s"],
                        r["handled_per_s"],
                        r["rows_per_1000"],
                        r["bytes_per_1000"],
                    ]
                    for name, r in workspace.items()
                ],
            )
        )
    record("ingestion", args.quick, {"concurrency": args.concurrency, "runs": runs})


def plural(replicas: int) -> str:
    return f"{replicas} replica{'s' if replicas > 1 else ''}"


@contextmanager
def database(backend: str, postgres: str | None, sqlite_file: Path) -> Iterator[str]:
    """A fresh ledger: a new SQLite file, or a new PostgreSQL database on the server ``postgres``."""
    if backend == "sqlite":
        sqlite_file.unlink(missing_ok=True)
        yield f"sqlite:///{sqlite_file}"
    else:
        assert postgres is not None
        with fresh_database(postgres, "twoway_bench_ingest") as url:
            yield url


if __name__ == "__main__":
    main()
