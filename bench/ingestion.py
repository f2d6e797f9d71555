"""Ingestion: events a second that twoway records, sustained, on SQLite and on PostgreSQL with one and
two replicas.

    python -m bench.ingestion [--quick] [--postgres URL] [--events N] [--concurrency 50]

Each run starts fresh `twoway run` processes on a fresh ledger, sends the same message events (each
sharing a new post) flat out, spread over the replicas, and stops the clock when the last one is
handled: its post recorded, its :eyes: reaction on the way, its claim done. The rate is events over
that time. PostgreSQL runs need ``--postgres`` (or $TWOWAY_BENCH_POSTGRES_URL).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from itertools import cycle
from pathlib import Path
from typing import Any

from bench.ack_latency import posts_in, wait_recorded
from bench.common import arguments, record, say, table
from bench.harness import Slack, emulator, event_body, fire, replicas
from bench.pg import fresh_database


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


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0] if __doc__ else "ingestion",
        extra=[
            ("--events", {"type": int, "default": None, "help": "events per run (default 2000)"}),
            ("--concurrency", {"type": int, "default": 50}),
        ],
    )
    count = args.events or (150 if args.quick else 2000)
    workdir = Path(tempfile.mkdtemp(prefix="twoway-bench-ingest-"))
    runs: dict[str, dict[str, Any]] = {}
    try:
        with emulator(workdir) as slack:
            say(f"writing {count} messages in the emulator")
            events = slack.message_events(count)
            say("SQLite, one replica")
            runs["sqlite, 1 replica"] = ingest(
                slack, f"sqlite:///{workdir / 'ingest.db'}", events, 1, args.concurrency
            )
            if args.postgres:
                for replica_count in (1, 2):
                    say(f"PostgreSQL, {replica_count} replicas")
                    with fresh_database(args.postgres, "twoway_bench_ingest") as url:
                        runs[f"postgresql, {replica_count} replica{'s' if replica_count > 1 else ''}"] = (
                            ingest(slack, url, events, replica_count, args.concurrency)
                        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
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
                for name, r in runs.items()
            ],
        )
    )
    record("ingestion", args.quick, {"concurrency": args.concurrency, "runs": runs})


if __name__ == "__main__":
    main()
