"""Ack latency: how fast `twoway run` answers Slack, beside a bare Bolt app on the same server.

    python -m bench.ack_latency [--quick] [--postgres URL] [--mix workspace|relevant|both] [--requests N]
        [--concurrency 50] [--rate 100] [--baseline DIR]

Both apps run as processes on waitress (`twoway.http_server`), against the emulator. Each gets the same
requests, signed as Slack signs them and sent ``--concurrency`` at a time, in one of two mixes. The
all-relevant mix is half `/twoway log <post> comments=… replies=…` commands and half message events
sharing a post link. The workspace mix is what a channel really sends (`bench.workspace_mix`): 85 in
100 are chatter twoway can ignore. The apps take turns in rounds so that the machine's noise falls on
both alike. Afterwards every relevant event sent to twoway must be in its ledger (each event handled,
in the all-relevant mix; the posts, snapshots and comments the mix implies, in the workspace mix): a
fast ack that lost work would not count. Goals, against the bare app: all-relevant p99 within 1.25 times,
workspace p99 within 1.1 times paced, and at least 0.8 times its throughput flat out.
``--baseline DIR`` runs a checkout of another revision (``git archive REV | tar -x -C DIR``) as a
third app in the same rounds, on a ledger of its own: before and after a change, in one run.
Each app's CPU per request is read from /proc, from its first timed request until its ledger holds
what was sent: twoway's handling after the ack included, which bare Bolt doesn't have.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench import workspace_mix
from bench.common import arguments, record, say, summary_ms, table
from bench.cpu import CpuMeter, descendants
from bench.harness import (
    TEAM,
    Sent,
    Slack,
    command_body,
    emulator,
    event_body,
    fire,
    post_url,
    replica_processes,
    spawn,
    wait_up,
)
from bench.pg import analyze, fresh_database
from storage.db import make_engine, make_session_factory
from storage.models import Post, ProcessedEvent
from twoway.demo import free_port

GOAL = 1.25
# The workspace mix's goals: paced p99, and throughput flat out, against bare Bolt's.
WORKSPACE_GOAL = 1.1
WORKSPACE_THROUGHPUT_GOAL = 0.8
# The app run from --baseline, an earlier checkout of twoway.
BEFORE = "twoway before"
FORM = "application/x-www-form-urlencoded"
# Requests each app gets before the timed rounds: imports, connection pools and first queries.
WARM_UP = 100


def mixed_requests(slack: Slack, count: int, *, logged_posts: int) -> list[tuple[bytes, str]]:
    """``count`` bodies, commands and events alternating in a shuffled order."""
    events = slack.message_events(count // 2, first=logged_posts)
    urls = slack.response_urls(count - count // 2)
    rng = random.Random(6)
    commands = [
        command_body(
            f"log {post_url(rng.randrange(logged_posts))} comments={rng.randint(0, 90)} "
            f"replies={rng.randint(0, 30)} likes={rng.randint(0, 900)}",
            response_url,
            trigger_id,
        )
        for response_url, trigger_id in urls
    ]
    bodies = [event_body(e) for e in events] + commands
    rng.shuffle(bodies)
    return bodies


def wait_recorded(database_url: str, expected: int, timeout: float = 120) -> tuple[int, float]:
    """Wait for ``expected`` events to be handled in the ledger; return how many were, and in how long."""
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    started = time.monotonic()
    done = 0
    try:
        while time.monotonic() - started < timeout:
            with sessions() as s:
                done = (
                    s.scalar(
                        select(func.count())
                        .select_from(ProcessedEvent)
                        .where(ProcessedEvent.team_id == TEAM, ProcessedEvent.state == "done")
                    )
                    or 0
                )
            if done >= expected:
                break
            time.sleep(0.1)
        return done, time.monotonic() - started
    finally:
        engine.dispose()


def posts_in(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as s:
            return s.scalar(select(func.count()).select_from(Post).where(Post.team_id == TEAM)) or 0
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Load:
    """One mix of requests: sent to every app untimed first (``warm``), then timed (``bodies``)."""

    mix: str
    warm: list[tuple[bytes, str]]
    bodies: list[tuple[bytes, str]]
    # The workspace mix's expected ledger; the all-relevant mix counts handled events instead.
    expected: workspace_mix.Ledger | None = None
    # Sent untimed after ``warm`` is handled (the workspace mix's audience comments).
    setup: list[tuple[bytes, str]] = field(default_factory=list)


def relevant_load(slack: Slack, requests: int) -> Load:
    warm = [event_body(e) for e in slack.message_events(WARM_UP)]
    return Load("all-relevant", warm, mixed_requests(slack, requests, logged_posts=WARM_UP))


def workspace_load(slack: Slack, requests: int) -> Load:
    tracked = slack.message_events(WARM_UP)
    mix = workspace_mix.build(slack, requests, tracked=tracked, first_post=WARM_UP + requests)
    return Load("workspace", [event_body(e) for e in tracked], mix.bodies, mix.expected, mix.setup)


def measure(
    slack: Slack,
    database_url: str,
    backend: str,
    load: Load,
    concurrency: int,
    rounds: int,
    rate: float | None,
    baseline: tuple[Path, str] | None = None,
) -> dict[str, Any]:
    bare_port = free_port()
    bare = spawn(
        ["bench.bare_app", "--port", str(bare_port)],
        slack.app_env(bare_port, database_url),
        slack.workdir / f"bare-{backend}.log",
    )
    try:
        wait_up(f"http://127.0.0.1:{bare_port}/healthz", bare)
        bare_url = f"http://127.0.0.1:{bare_port}/slack/events"
        with ExitStack() as stack:
            (ours,) = stack.enter_context(replica_processes(slack, database_url, 1, f"twoway-{backend}"))
            apps = {"twoway": ours.url}
            pids = {"twoway": ours.process.popen.pid}
            if baseline is not None:
                source, other_url = baseline
                (theirs,) = stack.enter_context(
                    replica_processes(slack, other_url, 1, f"before-{backend}", source)
                )
                apps[BEFORE] = theirs.url
                pids[BEFORE] = theirs.process.popen.pid
            apps["bare Bolt"] = bare_url
            pids["bare Bolt"] = bare.popen.pid
            # Posts for the commands to log: shared (untimed) before anything is measured.
            for url in apps.values():
                fire([(url, body, kind) for body, kind in load.warm], concurrency=concurrency)
            # Handled, not only acknowledged: a command or a thread reply about a post still on its
            # way in would find it untracked.
            workspace_mix.wait_ledger(database_url, [TEAM], workspace_mix.Ledger(posts=len(load.warm)))
            if load.setup:
                for url in apps.values():
                    fire([(url, body, kind) for body, kind in load.setup], concurrency=concurrency)
                workspace_mix.wait_ledger(database_url, [TEAM], workspace_mix.Ledger(posts=len(load.warm)))
            analyze(database_url)
            if baseline is not None:
                workspace_mix.wait_ledger(baseline[1], [TEAM], workspace_mix.Ledger(posts=len(load.warm)))
                analyze(baseline[1])
            bodies = load.bodies
            events_sent = (
                len(load.warm) + len(load.setup) + sum(kind == "application/json" for _, kind in bodies)
            )

            # Each app's CPU from the first timed request until its work is done, its handling included.
            meter = CpuMeter(lambda: {name: {pid, *descendants(pid)} for name, pid in pids.items()})
            meter.start()
            sent: dict[str, list[Sent]] = {name: [] for name in apps}
            busy: dict[str, float] = dict.fromkeys(apps, 0.0)
            size = -(-len(bodies) // rounds)
            for number, start in enumerate(range(0, len(bodies), size)):
                chunk = bodies[start : start + size]
                order = list(apps.items())
                for name, url in order if number % 2 == 0 else order[::-1]:
                    say(f"{backend}, {load.mix}: round {number + 1}/{rounds}, {name}, {len(chunk)} requests")
                    began = time.monotonic()
                    sent[name] += fire(
                        [(url, body, kind) for body, kind in chunk], concurrency=concurrency, rate=rate
                    )
                    busy[name] += time.monotonic() - began
            checked: dict[str, Any]
            if load.expected is None:
                recorded, settle = wait_recorded(database_url, events_sent)
                checked = {"events_sent": events_sent, "events_recorded": recorded}
            else:
                held, settle = workspace_mix.wait_ledger(database_url, [TEAM], load.expected)
                checked = {"expected": asdict(load.expected), "held": asdict(held)}
            if baseline is not None:
                # The earlier revision's handling too, before its CPU is read.
                if load.expected is None:
                    wait_recorded(baseline[1], events_sent)
                else:
                    workspace_mix.wait_ledger(baseline[1], [TEAM], load.expected)
            cpu = meter.stop()
            posts = posts_in(database_url)
    finally:
        bare.stop()
    figures: dict[str, Any] = {"mix": load.mix, "rate": rate}
    for name, results in sent.items():
        by_kind = {
            kind: summary_ms([r.seconds for r in results if r.content_type == content_type])
            for kind, content_type in (("events", "application/json"), ("commands", FORM))
        }
        figures[name] = {
            "by_kind": by_kind,
            "requests": len(results),
            "non_200": sum(r.status != 200 for r in results),
            "requests_per_s": round(len(results) / busy[name], 1),
            "cpu_ms_per_request": (
                round(cpu[name] * 1000 / len(results), 3) if cpu.get(name) is not None and results else None
            ),
            **summary_ms([r.seconds for r in results]),
        }
    figures["p99_ratio"] = round(figures["twoway"]["p99_ms"] / figures["bare Bolt"]["p99_ms"], 2)
    figures["p50_ratio"] = round(figures["twoway"]["p50_ms"] / figures["bare Bolt"]["p50_ms"], 2)
    figures["throughput_ratio"] = round(
        figures["twoway"]["requests_per_s"] / figures["bare Bolt"]["requests_per_s"], 2
    )
    if BEFORE in figures:
        figures["before_p99_ratio"] = round(figures[BEFORE]["p99_ms"] / figures["bare Bolt"]["p99_ms"], 2)
    figures |= checked
    figures["all_recorded"] = (
        checked["events_recorded"] >= events_sent
        if load.expected is None
        else workspace_mix.Ledger(**checked["held"]).reached(load.expected)
    )
    figures["posts"] = posts
    figures["recorded_within_s"] = round(settle, 2)
    return figures


def apps_in(figures: dict[str, Any]) -> list[str]:
    return [name for name, value in figures.items() if isinstance(value, dict) and "requests" in value]


def print_figures(by_run: dict[str, dict[str, Any]], concurrency: int) -> None:
    rows: list[Sequence[Any]] = []
    for run, figures in by_run.items():
        for name in apps_in(figures):
            f = figures[name]
            rows.append(
                [
                    run,
                    name,
                    f["requests"],
                    f["non_200"],
                    f["requests_per_s"],
                    f["p50_ms"],
                    f["p99_ms"],
                    f["max_ms"],
                    f["mean_ms"],
                    "-" if f.get("cpu_ms_per_request") is None else f["cpu_ms_per_request"],
                ]
            )
    print(
        table(
            f"Ack latency, {concurrency} concurrent (ms)",
            [
                "ledger, load",
                "app",
                "requests",
                "non-200",
                "req/s",
                "p50",
                "p99",
                "max",
                "mean",
                "CPU/request",
            ],
            rows,
        )
    )
    print(
        table(
            "The same, by kind of request (ms)",
            ["ledger, load", "app", "events p50", "events p99", "commands p50", "commands p99"],
            [
                [
                    run,
                    name,
                    figures[name]["by_kind"]["events"]["p50_ms"],
                    figures[name]["by_kind"]["events"]["p99_ms"],
                    figures[name]["by_kind"]["commands"]["p50_ms"],
                    figures[name]["by_kind"]["commands"]["p99_ms"],
                ]
                for run, figures in by_run.items()
                for name in apps_in(figures)
            ],
        )
    )
    for run, figures in by_run.items():
        print(verdict(run, figures))


def verdict(run: str, figures: dict[str, Any]) -> str:
    """The run's ratios against bare Bolt, beside the goals, and whether nothing was lost."""
    paced = figures["rate"] is not None
    if figures["mix"] == "workspace" and not paced:
        ratio, goal, word = figures["throughput_ratio"], WORKSPACE_THROUGHPUT_GOAL, "throughput"
        met = ratio >= goal
    else:
        goal = WORKSPACE_GOAL if figures["mix"] == "workspace" else GOAL
        ratio, word = figures["p99_ratio"], "p99"
        met = ratio <= goal
    if figures["mix"] == "workspace":
        recorded = f"ledger held {figures['held']}, expected {figures['expected']}"
    else:
        recorded = f"events recorded {figures['events_recorded']} of {figures['events_sent']}"
    baseline = f"; the baseline's p99/bare = {figures['before_p99_ratio']}x" if BEFORE in figures else ""
    return (
        f"{run}: {word} twoway/bare = {ratio}x ({'meets' if met else 'misses'} the {goal}x goal), "
        f"p99 {figures['p99_ratio']}x, p50 {figures['p50_ratio']}x, req/s {figures['throughput_ratio']}x; "
        f"{recorded} ({figures['posts']} posts) within {figures['recorded_within_s']} s of the last ack"
        f"{baseline}"
    )


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0] if __doc__ else "ack latency",
        extra=[
            ("--requests", {"type": int, "default": None, "help": "timed requests per app (default 2000)"}),
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
                "--rate",
                {"type": float, "default": 100.0, "help": "requests a second in the paced run (default 100)"},
            ),
            ("--keep", {"action": "store_true", "help": "keep the processes' logs and the SQLite ledger"}),
            (
                "--baseline",
                {
                    "default": None,
                    "help": "a checkout of another twoway revision, measured in the same rounds",
                },
            ),
        ],
    )
    source = Path(args.baseline).resolve() if args.baseline else None
    requests = args.requests or (200 if args.quick else 2000)
    rounds = 2 if args.quick else 4
    modes: list[tuple[str, float | None]] = [(f"paced {args.rate:g}/s", args.rate), ("flat out", None)]
    mixes = ["workspace", "relevant"] if args.mix == "both" else [args.mix]
    runs: dict[str, dict[str, Any]] = {}
    workdir = Path(tempfile.mkdtemp(prefix="twoway-bench-ack-"))
    say(f"processes log to {workdir}")
    try:
        with emulator(workdir) as slack:
            for mix in mixes:
                say(f"writing the {mix} mix's {requests} requests in the emulator")
                load = (workspace_load if mix == "workspace" else relevant_load)(slack, requests)
                for number, (mode, rate) in enumerate(modes):
                    name = f"{mix}-{number}"
                    sqlite_url = f"sqlite:///{workdir / f'ack-{name}.db'}"
                    before = (source, f"sqlite:///{workdir / f'before-{name}.db'}") if source else None
                    runs[f"sqlite, {load.mix}, {mode}"] = measure(
                        slack, sqlite_url, "sqlite", load, args.concurrency, rounds, rate, before
                    )
                    if args.postgres:
                        with ExitStack() as databases:
                            url = databases.enter_context(fresh_database(args.postgres, "twoway_bench_ack"))
                            before = None
                            if source is not None:
                                other = databases.enter_context(
                                    fresh_database(args.postgres, "twoway_bench_ack_before")
                                )
                                before = (source, other)
                            runs[f"postgresql, {load.mix}, {mode}"] = measure(
                                slack, url, "postgresql", load, args.concurrency, rounds, rate, before
                            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print_figures(runs, args.concurrency)
    record("ack_latency", args.quick, {"concurrency": args.concurrency, "rate": args.rate, "runs": runs})


if __name__ == "__main__":
    main()
