"""Unit costs: what one digest, one nudge sweep, one stored row and one fan-out's pacing cost, on SQLite
and on PostgreSQL, the figures a capacity model multiplies out.

Run: ``.venv/bin/python -m bench.unit_costs [--quick] [--postgres URL|embedded]``

Each measure has a fresh ledger of its own, and PostgreSQL's a fresh database with the planner's
statistics gathered after seeding (`bench.pg.analyze`). Measures 1 and 2 run in this process, against
the emulator as a process of its own (`bench.harness.emulator`) without rate limits; twoway's pacer
takes its turns in the ledger as always, but does not sleep until they come, so nothing waits and the
wall time is the work's own. CPU splits three ways, each read from /proc over the window
(`bench.cpu.CpuMeter`): the app (this process, and the process that draws digests' charts,
`bot.digest.chart_worker`), Slack (the emulator) and, on PostgreSQL, the database's backends (and every
server process on the embedded server). Where the server preloads `pg_stat_statements` (``--postgres
embedded``), the statements the database ran are counted too; elsewhere the benchmark says it skips them.

1. **Per digest.** A workspace of channels (20; 5 with ``--quick``) seeded as `bench.fanout.seed` does:
   a post in the digest's week and one the week before, so that every digest has a chart; and as many
   channels again with the week's post alone, whose digests have none. The real publisher
   (`twoway.runtime.make_publisher`, with the app's Web API client, its users.list names and its chart
   worker) publishes every channel's digest one after another (one channel's digest first, untimed:
   it starts the chart worker). Per digest: CPU ms, statements and wall ms.
2. **Per channel swept for nudges.** A workspace of channels (20; 5 quick), each with 10 waiting
   comments, flagged through the ledger's own `bot.ledger.flag` on posts two people shared and logged
   the numbers of (no ask for them is due): 4 flagged 26 hours before the sweep (level 1 due: two
   messages a channel, one per owner), 6 flagged 2 hours before (not due). `bot.nudges.Nudger.sweep` of
   the workspace once (it sends), then again 50 times (5 quick) with nothing due, the steady state:
   most sweeps find nothing; per channel swept. Then the whole `Schedules.run_sweep` with nothing due,
   as every replica runs it for every workspace every 5 minutes, built as `twoway.runtime.prepare`
   builds it, after one untimed run; per run, with the Slack calls it made (none, when nothing is due).
3. **Bytes per row.** On an empty ledger, posts (1,000; 200 quick) shared through `bot.ledger.share_links`
   (one message each: a post and the share that names its message), then a snapshot of each through
   `bot.ledger.record_engagement`, then a comment flagged on each through `bot.ledger.flag`; the growth
   of the database after each kind, per row: the SQLite file with its WAL checkpointed, PostgreSQL's
   twoway tables with their indexes and TOAST (`bench.workspace_mix.footprint`).
4. **The pace of Slack calls during a fan-out.** `bench.fanout.fan_out` of channels (60; 20 quick) with
   Slack's limits on, counting the writes to ``slack_turns``, the turns every replica takes before a
   rate-limited call (`storage.turns`): on both backends, the pacer's calls to it, counted in this
   process (every turn taken or held is one UPDATE of its row, and the first of a row one INSERT
   besides); on PostgreSQL also the table's own rows inserted and updated (HOT ones among them), from
   ``pg_stat_user_tables`` before and after. Per digest, per second of the fan-out, and how many rows
   take them: one per workspace and method, one per channel and method.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

from slack_sdk import WebClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench import workspace_mix
from bench.common import arguments, record, say, table
from bench.cpu import CpuMeter, descendants
from bench.fanout import MINUTE, TEAM, WEEKDAY, bench_config, fan_out, seed, share_post, the_slot
from bench.harness import Slack, control, emulator
from bench.pg import PostgresCosts, Server, analyze, fresh_database, server, statement_stats
from bot import ledger, posting
from bot.asks import Asker
from bot.claims import Releaser
from bot.clock import utc_now
from bot.deps import make_web_client
from bot.digest.chart_worker import ChartWorker
from bot.digest.period import Slot, period_for
from bot.nudges import Nudger
from bot.people import People
from bot.posting import Pacer
from bot.refresh import Refresher
from bot.scheduler import Schedules
from bot.summary import Engagement
from bot.weekly import WeeklyDms
from emulator import RateLimits
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import Base, Post, SlackTurn
from storage.turns import hold_turns, take_turn, take_turn_by
from twoway.runtime import make_publisher

Sessions = sessionmaker[Session]

PEOPLE = ("U0ADA00001", "U0GRACE001", "U0LINUS001")
# Waiting comments per channel swept, and how many of them are due a level-1 nudge.
WAITING, DUE = 10, 4
# The nudge sweeps' clock: a Wednesday afternoon, far from a weekend and from the Monday digest slot.
SWEEP_AT = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
DUE_AGE, FRESH_AGE = timedelta(hours=26), timedelta(hours=2)


@dataclass(frozen=True)
class Sizes:
    channels: int
    sweeps: int
    rows: int
    fanout_channels: int


def sizes(quick: bool) -> Sizes:
    if quick:
        return Sizes(channels=5, sweeps=5, rows=200, fanout_channels=20)
    return Sizes(channels=20, sweeps=50, rows=1000, fanout_channels=60)


class Window:
    """CPU, statements and wall time over a measured window, divided by the units of work done in it."""

    def __init__(self, slack: Slack, pg: Server | None, database_url: str, statements: bool) -> None:
        self.slack = slack.process.popen.pid
        self.postgres = PostgresCosts(pg, database_url, statements) if pg is not None else None
        self.meter = CpuMeter(self.pids)
        self.started = 0.0

    def pids(self) -> dict[str, set[int]]:
        own = os.getpid()
        others = {self.slack} | descendants(self.slack)
        if self.postgres is not None and self.postgres.server.postmaster is not None:
            postmaster = self.postgres.server.postmaster
            others |= {postmaster} | descendants(postmaster)
        groups = {"app": ({own} | descendants(own)) - others, "slack": {self.slack}}
        return groups | (self.postgres.pids() if self.postgres else {})

    def start(self) -> None:
        if self.postgres:
            self.postgres.reset()
        self.meter.start()
        self.started = time.monotonic()

    def stop(self, units: int) -> dict[str, float | None]:
        wall = time.monotonic() - self.started
        cpu = self.meter.stop()
        statements = self.postgres.read() if self.postgres else []

        def per_unit(seconds: float | None) -> float | None:
            return None if seconds is None else round(seconds * 1000 / units, 2)

        return {
            "app_cpu_ms": per_unit(cpu.get("app")),
            "slack_cpu_ms": per_unit(cpu.get("slack")),
            "pg_backends_cpu_ms": per_unit(cpu.get("pg_backends")),
            "pg_server_cpu_ms": per_unit(cpu.get("pg_server")),
            "statements": round(sum(s.calls for s in statements) / units, 1) if statements else None,
            "wall_ms": per_unit(wall),
        }

    def close(self) -> None:
        if self.postgres:
            self.postgres.close()


@contextmanager
def ledger_at(
    backend: str, pg: Server | None, workdir: Path, name: str
) -> Iterator[tuple[str, Engine, Sessions]]:
    """A fresh, migrated ledger: a new SQLite file, or a new database on the server ``pg``."""
    if backend == "sqlite":
        path = workdir / f"{name}.db"
        path.unlink(missing_ok=True)
        with _opened(f"sqlite:///{path}") as opened:
            yield opened
    else:
        assert pg is not None
        with fresh_database(pg.url, f"twoway_bench_{name}") as url, _opened(url) as opened:
            yield opened


@contextmanager
def _opened(url: str) -> Iterator[tuple[str, Engine, Sessions]]:
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield url, engine, make_session_factory(engine)
    finally:
        engine.dispose()


def unhurried(sessions: Sessions) -> Pacer:
    """The pacer of Slack's limits, taking its turns in the ledger as always, but never sleeping until
    they come: the emulator enforces no limits, and the wall time measured is the work's own."""
    return Pacer(sessions, sleep=lambda seconds: None)


# ---- 1. per digest ---------------------------------------------------------------------------------


def per_digest(
    slack: Slack, url: str, sessions: Sessions, pg: Server | None, channels: int
) -> dict[str, Any]:
    now = datetime.now(UTC)
    slot = the_slot(now)
    charted = [f"C0UCHART{i:03d}" for i in range(channels + 1)]
    plain = [f"C0UPLAIN{i:03d}" for i in range(channels)]
    seed(sessions, slack.url, charted, slot, charts=True)
    seed(sessions, slack.url, plain, slot, charts=False)
    analyze(url)
    client = make_web_client(bench_config(slack.url + "/api/", url))
    charts = ChartWorker()
    publisher = make_publisher(sessions, lambda team: client, utc_now, "bench:units", People(), charts)
    publisher = dataclasses.replace(publisher, pacer=unhurried(sessions))
    period = period_for(Slot(WEEKDAY, MINUTE, "UTC"), now)
    statements = statement_stats(url, pg)
    try:
        # The first chart starts the worker process and imports matplotlib there: untimed.
        warm = publisher.publish_digest(TEAM, charted.pop(), period)
        assert warm.status == "posted", warm
        figures: dict[str, Any] = {"channels": channels}
        for kind, ids in (("with_chart", charted), ("without_chart", plain)):
            window = Window(slack, pg, url, statements)
            window.start()
            outcomes = Counter(
                publisher.publish_digest(TEAM, channel_id, period).status for channel_id in ids
            )
            figures[kind] = {"posted": outcomes["posted"], **window.stop(len(ids))}
            window.close()
    finally:
        charts.close()
    uploads = control(slack.url, "/_emulator/calls?method=files.completeUploadExternal")
    figures["charts_uploaded"] = sum(1 for call in uploads if call["ok"]) - 1
    return figures


# ---- 2. per nudge sweep ----------------------------------------------------------------------------


@dataclass
class SweepClock:
    now: datetime = SWEEP_AT

    def __call__(self) -> datetime:
        return self.now


def seed_waiting(sessions: Sessions, slack_url: str, channels: list[str]) -> None:
    """Each channel in Slack and in the ledger with ``WAITING`` comments flagged on posts two people
    shared and logged the numbers of, ``DUE`` of them long enough ago for a level-1 nudge."""
    for channel_id in channels:
        control(slack_url, "/_emulator/channel", {"team": TEAM, "id": channel_id, "name": channel_id.lower()})
    for index, channel_id in enumerate(channels):
        with sessions.begin() as s:
            for number in range(WAITING):
                shared_at = SWEEP_AT - timedelta(days=3, minutes=number)
                status = 2_000_000 + index * 100 + number
                post = share_post(s, TEAM, channel_id, status, shared_at, PEOPLE[number % 2])
                # Its numbers are in: no ask for them is due.
                ledger.record_engagement(
                    s,
                    TEAM,
                    post,
                    Engagement(comments=4, replies=1, shares=5, likes=20),
                    recorded_at=shared_at + timedelta(hours=1),
                    recorded_by=PEOPLE[number % 2],
                    source="command",
                )
                ledger.flag(
                    s,
                    TEAM,
                    post=post,
                    channel_id=channel_id,
                    text=f"a question about post {number}",
                    author=None,
                    flagged_by=PEOPLE[2],
                    now=SWEEP_AT - (DUE_AGE if number < DUE else FRESH_AGE),
                    timezone="UTC",
                )


def per_sweep(
    slack: Slack, url: str, sessions: Sessions, pg: Server | None, channels: int, sweeps: int
) -> dict[str, Any]:
    ids = [f"C0UNUDGE{i:03d}" for i in range(channels)]
    seed_waiting(sessions, slack.url, ids)
    analyze(url)
    client = make_web_client(bench_config(slack.url + "/api/", url))
    clock = SweepClock()
    pacer = unhurried(sessions)
    nudger = Nudger(sessions, lambda team: client, "bench:units", clock, pacer=pacer)
    statements = statement_stats(url, pg)
    figures: dict[str, Any] = {"channels": channels, "waiting_per_channel": WAITING, "due_per_channel": DUE}

    window = Window(slack, pg, url, statements)
    window.start()
    sent = nudger.sweep(TEAM)
    figures["sending"] = {
        "comments_nudged": sum(1 for outcome in sent if outcome.status == "sent"),
        "messages": len({outcome.ts for outcome in sent if outcome.status == "sent"}),
        **window.stop(channels),
    }
    window.close()

    window = Window(slack, pg, url, statements)
    window.start()
    found = sum(len(nudger.sweep(TEAM)) for _ in range(sweeps))
    figures["nothing_due"] = {"sweeps": sweeps, "nudges": found, **window.stop(channels * sweeps)}
    window.close()

    people = People()
    charts = ChartWorker()

    def for_team(team_id: str) -> WebClient:
        return client

    schedules = Schedules(
        sessions,
        dataclasses.replace(
            make_publisher(sessions, for_team, clock, "bench:units", people, charts), pacer=pacer
        ),
        nudger,
        lambda: [TEAM],
        asker=Asker(sessions, for_team, clock, pacer=pacer),
        refresher=Refresher(sessions, for_team, "bench:units", clock, pacer=pacer, people=people),
        releaser=Releaser(sessions, for_team, clock, pacer=pacer),
        weekly=WeeklyDms(sessions, for_team, "bench:units", clock, pacer=pacer),
    )
    try:
        # The first run settles what a new ledger holds besides nudges (the posts' asks for their numbers).
        schedules.run_sweep()
        before = len(control(slack.url, "/_emulator/calls"))
        window = Window(slack, pg, url, statements)
        window.start()
        for _ in range(sweeps):
            schedules.run_sweep()
        figures["run_sweep"] = {
            "sweeps": sweeps,
            "slack_calls": len(control(slack.url, "/_emulator/calls")) - before,
            **window.stop(sweeps),
        }
        window.close()
    finally:
        charts.close()
    return figures


# ---- 3. bytes per row ------------------------------------------------------------------------------


def index_bytes(engine: Engine) -> int | None:
    """The bytes of twoway's indexes on PostgreSQL; None on SQLite, whose file holds them in its pages."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return sum(
            conn.scalar(text("SELECT pg_indexes_size(:t)"), {"t": table.name}) or 0
            for table in Base.metadata.sorted_tables
        )


def per_row(url: str, engine: Engine, sessions: Sessions, rows: int) -> dict[str, Any]:
    """The database's growth per post, per snapshot and per comment, each kind recorded in turn."""
    channel_id = "C0UROWS001"
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    post_ids: list[int] = []
    figures: dict[str, Any] = {"rows": rows}

    def share(s: Session, number: int) -> None:
        shared_at = at + timedelta(minutes=number)
        post_ids.append(share_post(s, TEAM, channel_id, 3_000_000 + number, shared_at, PEOPLE[number % 2]).id)

    def snapshot(s: Session, number: int) -> None:
        ledger.record_engagement(
            s,
            TEAM,
            s.get_one(Post, post_ids[number]),
            Engagement(comments=4 + number % 7, replies=number % 3, shares=5, likes=20 + number % 50),
            recorded_at=at + timedelta(days=1, minutes=number),
            recorded_by=PEOPLE[number % 2],
            source="command",
        )

    def comment(s: Session, number: int) -> None:
        flagged_at = at + timedelta(days=1, minutes=number)
        ledger.flag(
            s,
            TEAM,
            post=s.get_one(Post, post_ids[number]),
            channel_id=channel_id,
            text=f"Is there a recording of the talk? Asking for the team in Lisbon ({number})",
            author="someone@mastodon.example",
            flagged_by=PEOPLE[2],
            now=flagged_at,
            timezone="UTC",
            message_ts=f"{flagged_at.timestamp():.6f}",
            thread_ts=f"{(at + timedelta(minutes=number)).timestamp():.6f}",
        )

    before = workspace_mix.footprint(url)
    indexes_before = index_bytes(engine)
    for kind, write in (("post", share), ("snapshot", snapshot), ("comment", comment)):
        for batch in range(0, rows, 100):
            with sessions.begin() as s:
                for number in range(batch, min(batch + 100, rows)):
                    write(s, number)
        after = workspace_mix.footprint(url)
        indexes_after = index_bytes(engine)
        figures[kind] = {
            "rows_per": round((after.rows - before.rows) / rows, 2),
            "bytes_per": round((after.bytes - before.bytes) / rows),
            "index_bytes_per": (
                round((indexes_after - indexes_before) / rows)
                if indexes_after is not None and indexes_before is not None
                else None
            ),
        }
        before, indexes_before = after, indexes_after
    return figures


# ---- 4. the pace of Slack calls during a fan-out ---------------------------------------------------


class TurnCount:
    """The pacer's calls to `storage.turns`, counted by row (workspace or channel, and method)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.writes: Counter[tuple[str, str, str]] = Counter()

    def _count(self, key: tuple[str, str, str]) -> None:
        with self.lock:
            self.writes[key] += 1

    def take_turn(self, s: Session, team_id: str, method: str, **kwargs: Any) -> float:
        self._count((team_id, method, kwargs.get("channel_id", "")))
        return take_turn(s, team_id, method, **kwargs)

    def take_turn_by(self, s: Session, team_id: str, method: str, **kwargs: Any) -> float | None:
        taken = take_turn_by(s, team_id, method, **kwargs)
        if taken is not None:
            self._count((team_id, method, ""))
        return taken

    def hold_turns(self, s: Session, team_id: str, method: str, **kwargs: Any) -> None:
        self._count((team_id, method, ""))
        hold_turns(s, team_id, method, **kwargs)

    @contextmanager
    def counting(self) -> Iterator[None]:
        with (
            mock.patch.object(posting, "take_turn", self.take_turn),
            mock.patch.object(posting, "take_turn_by", self.take_turn_by),
            mock.patch.object(posting, "hold_turns", self.hold_turns),
        ):
            yield


def table_writes(engine: Engine) -> dict[str, int] | None:
    """``slack_turns``' rows inserted and updated so far, as PostgreSQL counts them; None on SQLite.

    Backends report their counts when a transaction ends (at most once a second) and when they exit:
    the reading is taken once two readings a second apart agree."""
    if engine.dialect.name != "postgresql":
        return None
    query = text(
        "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'slack_turns'"
    )
    last: dict[str, int] | None = None
    deadline = time.monotonic() + 30
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            row = conn.execute(query).one()
            reading = {"inserted": row[0], "updated": row[1], "hot_updated": row[2]}
            if reading == last:
                break
            last = reading
            conn.commit()
            time.sleep(1.0)
    assert last is not None
    return last


def in_fan_out(url: str, engine: Engine, sessions: Sessions, channels: int) -> dict[str, Any]:
    before = table_writes(engine)
    count = TurnCount()
    with count.counting():
        fanned = fan_out(channels, url, RateLimits())
    after = table_writes(engine)
    with sessions() as s:
        workspace_rows, channel_rows = s.execute(
            select(
                func.count().filter(SlackTurn.channel_id == ""),
                func.count().filter(SlackTurn.channel_id != ""),
            )
        ).one()
    wall = fanned["wall_s"]
    digests = channels - fanned["lost"]
    turns = sum(count.writes.values())
    inserted = workspace_rows + channel_rows
    # Each turn is one UPDATE of its row; each row's first turn also INSERTs it.
    writes = turns + inserted
    hottest = count.writes.most_common(1)[0] if count.writes else None
    figures: dict[str, Any] = {
        "channels": channels,
        "digests": digests,
        "charts": fanned["charts"],
        "outcome": fanned["outcome"],
        "wall_s": wall,
        "turns": turns,
        "writes": writes,
        "writes_per_digest": round(writes / digests, 2) if digests else None,
        "writes_per_s": round(writes / wall, 1) if wall else None,
        "rows_workspace": workspace_rows,
        "rows_channel": channel_rows,
        "hottest_row": f"{hottest[0][1]}{' in ' + hottest[0][2] if hottest[0][2] else ''}"
        if hottest
        else None,
        "hottest_row_writes_per_s": round(hottest[1] / wall, 1) if hottest and wall else None,
    }
    if before is not None and after is not None:
        stats = {name: after[name] - before[name] for name in after}
        figures["pg_table"] = {
            **stats,
            "writes_per_digest": round((stats["inserted"] + stats["updated"]) / digests, 2)
            if digests
            else None,
            "writes_per_s": round((stats["inserted"] + stats["updated"]) / wall, 1) if wall else None,
        }
    return figures


# ---- the run ---------------------------------------------------------------------------------------


def measure(backend: str, pg: Server | None, slack: Slack, workdir: Path, size: Sizes) -> dict[str, Any]:
    figures: dict[str, Any] = {"backend": backend}
    say(f"{backend}: per digest, {size.channels} channels with a chart and {size.channels} without")
    with ledger_at(backend, pg, workdir, "unit_digest") as (url, _, sessions):
        figures["digest"] = per_digest(slack, url, sessions, pg, size.channels)
    say(f"{backend}: per nudge sweep, {size.channels} channels of {WAITING} waiting comments")
    with ledger_at(backend, pg, workdir, "unit_sweep") as (url, _, sessions):
        figures["sweep"] = per_sweep(slack, url, sessions, pg, size.channels, size.sweeps)
    say(f"{backend}: bytes per row, {size.rows} of each")
    with ledger_at(backend, pg, workdir, "unit_rows") as (url, engine, sessions):
        figures["bytes"] = per_row(url, engine, sessions, size.rows)
    say(f"{backend}: slack_turns during a fan-out of {size.fanout_channels} channels")
    with ledger_at(backend, pg, workdir, "unit_turns") as (url, engine, sessions):
        figures["turns"] = in_fan_out(url, engine, sessions, size.fanout_channels)
    return figures


def shown(value: Any) -> str:
    return "-" if value is None else str(value)


def cost_row(name: str, costs: dict[str, Any]) -> list[str]:
    keys = ("app_cpu_ms", "slack_cpu_ms", "pg_backends_cpu_ms", "pg_server_cpu_ms", "statements", "wall_ms")
    return [name, *(shown(costs[key]) for key in keys)]


COST_HEADER = ["", "app ms", "slack ms", "backends ms", "server ms", "statements", "wall ms"]


def report(runs: list[dict[str, Any]]) -> None:
    digests, sweeps, rows, turns = [], [], [], []
    for run in runs:
        backend = run["backend"]
        digest = run["digest"]
        for kind in ("with_chart", "without_chart"):
            row = cost_row(f"{backend}, {kind.replace('_', ' ')}", digest[kind])
            digests.append([*row, f"{digest[kind]['posted']}/{digest['channels']}"])
        sweep = run["sweep"]
        sweeps.append([*cost_row(f"{backend}, sending", sweep["sending"]), sweep["sending"]["messages"]])
        sweeps.append(
            [*cost_row(f"{backend}, nothing due", sweep["nothing_due"]), sweep["nothing_due"]["nudges"]]
        )
        sweeps.append(
            [*cost_row(f"{backend}, run_sweep", sweep["run_sweep"]), sweep["run_sweep"]["slack_calls"]]
        )
        for kind in ("post", "snapshot", "comment"):
            kept = run["bytes"][kind]
            rows.append(
                [f"{backend}, {kind}", kept["rows_per"], kept["bytes_per"], shown(kept["index_bytes_per"])]
            )
        t = run["turns"]
        pg_table = t.get("pg_table") or {}
        turns.append(
            [
                backend,
                f"{t['digests']}/{t['channels']}",
                t["wall_s"],
                t["writes"],
                t["writes_per_digest"],
                t["writes_per_s"],
                f"{t['rows_workspace']} + {t['rows_channel']}",
                f"{t['hottest_row']}: {t['hottest_row_writes_per_s']}/s",
                shown(pg_table.get("writes_per_digest")),
                shown(pg_table.get("hot_updated")),
            ]
        )
    print(table("Per digest (CPU ms, statements and wall ms per digest)", [*COST_HEADER, "posted"], digests))
    print(
        table(
            "Per channel swept for nudges (run_sweep: per workspace swept)",
            [*COST_HEADER, "messages / Slack calls"],
            sweeps,
        )
    )
    print(table("Bytes per row recorded", ["", "rows", "bytes", "index bytes"], rows))
    header = ["backend", "digests", "wall s", "writes", "per digest", "per s", "rows (workspace + channel)"]
    print(table("slack_turns during a fan-out", [*header, "hottest row", "pg: per digest", "pg: HOT"], turns))


def main() -> None:
    args = arguments(__doc__.splitlines()[0] if __doc__ else "unit costs")
    size = sizes(args.quick)
    workdir = Path(tempfile.mkdtemp(prefix="twoway-bench-units-"))
    runs = []
    try:
        with server(args.postgres) as pg:
            for backend in ["sqlite", *(["postgresql"] if pg else [])]:
                # A Slack of each backend's own, its channels and calls that backend's alone.
                with emulator(workdir) as slack:
                    figures = measure(backend, pg if backend == "postgresql" else None, slack, workdir, size)
                record("unit_costs", args.quick, figures)
                runs.append(figures)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(runs)


if __name__ == "__main__":
    main()
