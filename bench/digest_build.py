"""Digest build vs ledger size: one channel's digest composed from a small ledger and from a big one.

    python -m bench.digest_build [--quick] [--postgres URL] [--reps N] [--cache-dir DIR]

Each ledger spreads its posts (1 to 3 snapshots each, about 0.3 flagged comments each, nudges, one
digest run per channel and week) over 500 channels and two years; a second team shares the channel
ids, so that a query that forgot ``team_id`` would read its rows too. The measured channel's last
nine weeks are the same in every ledger (twelve posts a week by six owners, open comments, failed
nudges, a lost digest), and only its history before them grows with the ledger, so the difference
between the two timings is what the history costs. ``bot.digests.compose_digest`` for its latest
weekly period, then its chart drawn once the session is closed as the publisher does, is timed
``--reps`` times per ledger (30; 5 with ``--quick``, which compares 2,000 and 50,000 posts rather
than 10,000 and 1,000,000), the ledgers taking turns after a warm-up. Then each SQL statement the
digest issues is captured, explained with its bound parameters (``EXPLAIN QUERY PLAN`` on SQLite,
``EXPLAIN`` after VACUUM ANALYZE on PostgreSQL), checked for reads of a whole ledger table (or of
everything one team has in it), and replayed on its own to time it.

Goal: the big ledger's p50 within 1.5x the small one's. SQLite ledgers are kept under ``--cache-dir``
(keyed by seed, shape and schema revision), so a re-run skips seeding; PostgreSQL ones are seeded by
COPY into a database of their own, dropped afterwards. SQLite gets no ANALYZE: twoway never runs it.
"""

from __future__ import annotations

import heapq
import json
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Connection, Engine, event, insert, text

from bench.common import arguments, record, say, summary_ms, table
from bench.pg import fresh_database
from bot.digest.chart import CHART_PERIODS, render_chart
from bot.digest.compose import compose_digest
from bot.digest.period import Period, period_ending, period_for, slot_at_or_before
from storage.channels import get_channel
from storage.db import make_engine, make_session_factory
from storage.migrate import head_revision, upgrade
from storage.models import Base

GOAL = 1.5
TEAM = "T0BENCH01"
# Shares the channel ids: a query without its team_id filter would find these rows too.
OTHER_TEAM = "T0BENCH02"
OTHER_TEAM_SHARE = 0.1
# The measured channel: Berlin, Mondays 09:00 local; every other channel is UTC.
SUBJECT_ZONE = "Europe/Berlin"
NOW = datetime(2026, 3, 2, 8, 5, tzinfo=UTC)
OWNERS_PER_CHANNEL = 6
# The measured channel's own weeks: the digest's eight periods and the one being written.
RECENT_WEEKS = CHART_PERIODS + 1
RECENT_POSTS_PER_WEEK = 12
# Comments flagged more than this long ago are closed by now, in every channel.
OPEN_HORIZON = timedelta(weeks=3)
BATCH = 20_000
WARM_UP = 3
# Bumped whenever the seeded rows change, so that cached SQLite ledgers are rebuilt.
SEED_VERSION = 1
SEED = 20260302

LEDGER_TABLES = ("posts", "snapshots", "comments", "nudges")
PLATFORMS = ("x.com", "linkedin.com", "instagram.com", "facebook.com", "bsky.app", "youtube.com")
HOUR = 3600.0
DAY = 24 * HOUR

Row = dict[str, Any]
Sink = Callable[[str, list[Row]], None]


@dataclass(frozen=True)
class Shape:
    """A ledger's size: the first team's posts, spread over ``channels`` channels and ``weeks`` weeks."""

    posts: int
    channels: int = 500
    weeks: int = 104

    @property
    def key(self) -> str:
        return f"{self.posts}p-{self.channels}c-{self.weeks}w"


FULL = (Shape(10_000), Shape(1_000_000))
QUICK = (Shape(2_000), Shape(50_000))


@dataclass(frozen=True)
class Rates:
    """How a channel's audience and team behave: the share of posts with flagged comments (one, or
    two 15% of the time), the share of comments flagged in the last three weeks still open, and the
    share of nudges that failed.
    """

    comments: float
    still_open: float
    failed_nudges: float


# About 0.3 comments a post, as the issue has it; the measured channel's weeks are livelier.
HISTORY_RATES = Rates(comments=0.26, still_open=0.3, failed_nudges=0.03)
OWN_WEEKS_RATES = Rates(comments=0.35, still_open=0.5, failed_nudges=0.25)
OTHER_TEAM_RATES = Rates(comments=0.3, still_open=0.5, failed_nudges=0.2)


def channel_id(index: int) -> str:
    return f"C0B{index:06d}"


SUBJECT = channel_id(0)


def owner_id(channel: int, k: int) -> str:
    return f"U0B{channel:05d}{k}"


def at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def slack_ts(epoch: float) -> str:
    return f"{epoch:.6f}"


# ---- seeding ------------------------------------------------------------------------------------


class Ledger:
    """Rows for every table, with explicit ids, handed to ``sink`` in batches parents first."""

    ORDER = ("channels", "posts", "snapshots", "comments", "nudges", "digest_runs")

    def __init__(self, sink: Sink) -> None:
        self.sink = sink
        self.buffers: dict[str, list[Row]] = {name: [] for name in self.ORDER}
        self.counts: dict[str, int] = dict.fromkeys(self.ORDER, 0)
        self.now = NOW.timestamp()

    def add(self, name: str, row: Row) -> int:
        self.counts[name] += 1
        row["id"] = self.counts[name]
        self.buffers[name].append(row)
        if name == "posts" and len(self.buffers[name]) >= BATCH:
            self.flush()
        return row["id"]

    def flush(self) -> None:
        for name in self.ORDER:
            if self.buffers[name]:
                self.sink(name, self.buffers[name])
                self.buffers[name] = []

    def channels(self, team: str, shape: Shape) -> None:
        created = NOW - timedelta(weeks=shape.weeks, days=1)
        for index in range(shape.channels):
            self.add(
                "channels",
                {
                    "team_id": team,
                    "channel_id": channel_id(index),
                    "name": f"social-{index}",
                    "tracked": True,
                    "digest_weekday": 0,
                    "digest_minute": 540,
                    "timezone": SUBJECT_ZONE if index == 0 else "UTC",
                    "digest_enabled": True,
                    "unanswered_threshold_hours": 24,
                    "nudge_weekends": False,
                    "flag_emoji": "speech_balloon",
                    "resolve_emoji": "white_check_mark",
                    "dismiss_emoji": "no_entry_sign",
                    "created_at": created,
                    "updated_at": created,
                },
            )

    def post(
        self, rng: random.Random, team: str, shared: float, channel: int, owner: str, rates: Rates
    ) -> None:
        """One post with its snapshots, comments and their nudges, none of them after NOW."""
        platform = rng.choice(PLATFORMS)
        number = self.counts["posts"] + 1
        url = f"https://{platform}/{team.lower()}/status/{number}"
        post = self.add(
            "posts",
            {
                "team_id": team,
                "channel_id": channel_id(channel),
                "canonical_url": url,
                "url": url,
                "platform": platform.split(".")[0],
                "owner_user_id": owner,
                "message_ts": slack_ts(shared),
                "shared_at": at(shared),
                "withdrawn_at": at(shared + HOUR) if rng.random() < 0.01 else None,
            },
        )
        one_way = rng.random() < 0.3
        received = replies = likes = shares = 0
        roll = rng.random()
        for offset in (rng.uniform(1, 6), rng.uniform(20, 30), rng.uniform(60, 80))[
            : 1 + (roll > 0.3) + (roll > 0.75)
        ]:
            recorded = shared + offset * HOUR
            if recorded >= self.now:
                break
            received += rng.randint(0, 12)
            replies = 0 if one_way else min(received, replies + rng.randint(0, 5))
            likes += rng.randint(0, 200)
            shares += rng.randint(0, 20)
            self.add(
                "snapshots",
                {
                    "team_id": team,
                    "post_id": post,
                    "comments_received": received,
                    "replies_sent": replies,
                    "shares": shares,
                    "likes": likes,
                    "recorded_at": at(recorded),
                    "recorded_by": owner,
                    "source": "thread",
                    "source_ref": slack_ts(recorded),
                },
            )
        if rng.random() >= rates.comments:
            return
        for _ in range(1 + (rng.random() < 0.15)):
            self.comment(rng, team, channel, post, shared, owner, rates)

    def comment(
        self, rng: random.Random, team: str, channel: int, post: int, shared: float, owner: str, rates: Rates
    ) -> None:
        flagged = shared + rng.uniform(1, 48) * HOUR
        if flagged >= self.now:
            return
        closed = flagged + rng.uniform(0.5, 96) * HOUR
        recent = self.now - flagged < OPEN_HORIZON.total_seconds()
        if closed >= self.now or (recent and rng.random() < rates.still_open):
            state, closed_at = "open", None
        else:
            state, closed_at = ("answered" if rng.random() < 0.8 else "dismissed"), at(closed)
        number = self.counts["comments"] + 1
        comment = self.add(
            "comments",
            {
                "team_id": team,
                "post_id": post,
                "channel_id": channel_id(channel),
                "text": f"Is this still available in size {number % 13}? Asking for the weekend.",
                "author": f"@fan{number % 9973}",
                "written_at": at(flagged - rng.uniform(0, 3) * HOUR) if rng.random() < 0.7 else None,
                "state": state,
                "flagged_by": owner_id(channel, rng.randrange(OWNERS_PER_CHANNEL)),
                "flagged_at": at(flagged),
                "answered_by": owner if state == "answered" else None,
                "answered_at": closed_at if state == "answered" else None,
                "dismissed_by": owner if state == "dismissed" else None,
                "dismissed_at": closed_at if state == "dismissed" else None,
                # Unique per channel: the second is the flag's, the fraction the comment's number.
                "message_ts": f"{int(flagged)}.{number % 1_000_000:06d}",
                "thread_ts": None,
                "notice_ts": None,
                "snoozed_until": None,
            },
        )
        end = closed if state != "open" else self.now
        for level, after in ((1, DAY), (2, 3 * DAY)):
            nudged = flagged + after
            if nudged >= end:
                break
            failed = rng.random() < rates.failed_nudges
            self.add(
                "nudges",
                {
                    "team_id": team,
                    "comment_id": comment,
                    "level": level,
                    "state": "failed" if failed else "sent",
                    "claimed_at": at(nudged),
                    "sent_at": None if failed else at(nudged + 1),
                    "message_ts": None if failed else slack_ts(nudged + 1),
                    "attempts": 3 if failed else 1,
                    "error": "ratelimited" if failed else None,
                },
            )

    def runs(self, rng: random.Random, team: str, shape: Shape) -> None:
        """One digest run per channel and past week, a few of them failed for good."""
        for index in range(shape.channels):
            zone = SUBJECT_ZONE if index == 0 else "UTC"
            period = period_ending(slot_at_or_before(NOW, weekday=0, minute=540, zone=zone), zone)
            for back in range(1, shape.weeks):
                period = period_ending(period.start, zone)
                # The measured channel's digest of last week was lost: its next one says so.
                failed = back == 1 if index == 0 else rng.random() < 0.03
                self.add(
                    "digest_runs",
                    {
                        "team_id": team,
                        "channel_id": channel_id(index),
                        "period_start": period.start,
                        "period_end": period.end,
                        "state": "failed" if failed else "posted",
                        "claimed_at": period.end,
                        "claimed_by": "replica-1",
                        "posted_at": None if failed else period.end + timedelta(minutes=1),
                        "message_ts": None if failed else slack_ts(period.end.timestamp() + 60),
                        "attempts": 3 if failed else 1,
                        "error": "ratelimited" if failed else None,
                    },
                )


def subject_window() -> float:
    """When the measured channel's fixed weeks begin: everything before is its history."""
    start = period_ending(
        slot_at_or_before(NOW, weekday=0, minute=540, zone=SUBJECT_ZONE), SUBJECT_ZONE
    ).start
    for _ in range(RECENT_WEEKS - 2):
        start = period_ending(start, SUBJECT_ZONE).start
    return start.timestamp()


def seed(sink: Sink, shape: Shape) -> dict[str, int]:
    """Write both teams' ledgers through ``sink``; return the first team's row counts by table.

    Posts are written in time order, so that ids grow with time as in a ledger that was lived in.
    """
    ledger = Ledger(sink)
    ledger.channels(TEAM, shape)
    ledger.channels(OTHER_TEAM, shape)
    window = subject_window()
    now = NOW.timestamp()
    first = now - shape.weeks * 7 * DAY

    # The measured channel's own weeks: the same posts, comments and nudges in every ledger.
    recent = random.Random(SEED)
    own_weeks = sorted(
        (
            window + week * 7 * DAY + recent.uniform(0, 7 * DAY),
            0,
            owner_id(0, recent.randrange(OWNERS_PER_CHANNEL)),
        )
        for week in range(RECENT_WEEKS)
        for _ in range(RECENT_POSTS_PER_WEEK)
    )
    own_weeks = [post for post in own_weeks if post[0] < now]
    if shape.posts < len(own_weeks) or shape.weeks <= RECENT_WEEKS:
        raise ValueError(f"a ledger needs over {len(own_weeks)} posts and {RECENT_WEEKS} weeks, not {shape}")

    rng = random.Random(f"{SEED}-{shape.key}")

    def history() -> Iterator[tuple[float, int, str]]:
        for shared in sorted(rng.uniform(first, now) for _ in range(shape.posts - len(own_weeks))):
            channel = rng.randrange(shape.channels)
            if channel == 0 and shared >= window:
                channel = rng.randrange(1, shape.channels)
            yield shared, channel, owner_id(channel, rng.randrange(OWNERS_PER_CHANNEL))

    own = set(own_weeks)
    for post in heapq.merge(own_weeks, history()):
        if post in own:
            ledger.post(recent, TEAM, *post, OWN_WEEKS_RATES)
        else:
            ledger.post(rng, TEAM, *post, HISTORY_RATES)
    ledger.runs(random.Random(SEED + 1), TEAM, shape)
    ledger.flush()
    counts = dict(ledger.counts)

    other = random.Random(f"{SEED}-{shape.key}-other")
    for shared in sorted(other.uniform(first, now) for _ in range(int(shape.posts * OTHER_TEAM_SHARE))):
        # The other team's busiest channel is the measured one's namesake.
        channel = 0 if other.random() < 0.2 else other.randrange(shape.channels)
        owner = owner_id(channel, other.randrange(OWNERS_PER_CHANNEL))
        ledger.post(other, OTHER_TEAM, shared, channel, owner, OTHER_TEAM_RATES)
    ledger.flush()
    return counts


def core_sink(engine: Engine) -> Sink:
    """Batches as SQLAlchemy Core executemany inserts, a transaction each, so that the WAL stays small."""
    tables = Base.metadata.tables

    def write(name: str, rows: list[Row]) -> None:
        with engine.begin() as connection:
            connection.execute(insert(tables[name]), rows)

    return write


def copy_sink(connection: Connection) -> Sink:
    """Batches through PostgreSQL's COPY, on the connection's own psycopg connection."""
    raw: Any = connection.connection.dbapi_connection

    def write(name: str, rows: list[Row]) -> None:
        columns = list(rows[0])
        with raw.cursor() as cursor, cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])

    return write


@dataclass
class Prepared:
    """A seeded ledger, and how long seeding it took."""

    backend: str
    shape: Shape
    engine: Engine
    counts: dict[str, int]
    seed_s: float
    cached: bool = False
    # What the figures call it; the shape's key unless two ledgers of one shape are compared.
    name: str = ""

    @property
    def key(self) -> str:
        return self.name or self.shape.key


def sqlite_ledger(stack: ExitStack, shape: Shape, cache_dir: Path) -> Prepared:
    """The shape's SQLite ledger from ``cache_dir``, seeded there first when it isn't.

    The file is named for the seed, the shape and the schema's revision: a ledger is seeded again
    when any of them changes, and the files it replaces are deleted.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"digest_build-v{SEED_VERSION}-{SEED}-{head_revision()}-{shape.key}.sqlite"
    sidecar = path.with_suffix(".json")
    cached = path.exists() and sidecar.exists()
    if not cached:
        for stale in cache_dir.glob(f"digest_build-*-{shape.key}.*"):
            stale.unlink()
        building = path.with_suffix(".building")
        engine = make_engine(f"sqlite:///{building}")
        upgrade(engine)
        started = time.perf_counter()
        counts = seed(core_sink(engine), shape)
        seconds = time.perf_counter() - started
        # Closing the last connection checkpoints the WAL into the file, which can then move.
        engine.dispose()
        building.rename(path)
        sidecar.write_text(json.dumps({"counts": counts, "seed_s": round(seconds, 1)}))
    saved = json.loads(sidecar.read_text())
    engine = make_engine(f"sqlite:///{path}")
    stack.callback(engine.dispose)
    return Prepared("sqlite", shape, engine, saved["counts"], saved["seed_s"], cached)


def postgres_ledger(stack: ExitStack, admin_url: str, shape: Shape) -> Prepared:
    """The shape's ledger in a PostgreSQL database of its own, dropped when ``stack`` closes."""
    url = stack.enter_context(fresh_database(admin_url, f"bench_digest_build_{shape.posts}"))
    engine = make_engine(url)
    stack.callback(engine.dispose)
    upgrade(engine)
    started = time.perf_counter()
    with engine.begin() as connection:
        counts = seed(copy_sink(connection), shape)
        # The ids were given explicitly; the sequences must start after them for later inserts.
        for name in Ledger.ORDER:
            sequence = f"pg_get_serial_sequence('{name}', 'id')"
            connection.execute(text(f"SELECT setval({sequence}, (SELECT max(id) FROM {name}))"))  # noqa: S608
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    return Prepared("postgresql", shape, engine, counts, round(time.perf_counter() - started, 1))


# ---- measuring ----------------------------------------------------------------------------------


def the_period(prepared: Prepared) -> Period:
    with make_session_factory(prepared.engine)() as s:
        channel = get_channel(s, TEAM, SUBJECT)
        assert channel is not None
        return period_for(channel, NOW)


def compose_seconds(prepared: Prepared, period: Period) -> float:
    """One digest as the publisher makes it: composed in a session of its own, then its chart drawn."""
    sessions = make_session_factory(prepared.engine)
    started = time.perf_counter()
    with sessions.begin() as s:
        composed = compose_digest(s, TEAM, SUBJECT, period, NOW)
    if composed.chart is not None:
        render_chart(composed.chart)
    return time.perf_counter() - started


@dataclass(frozen=True)
class Statement:
    """A SELECT the digest issued: the storage function it came from, its SQL and bound parameters."""

    origin: str
    sql: str
    parameters: Any

    @property
    def shape(self) -> str:
        """The SQL with IN lists collapsed, to tell the same query from another one."""
        return re.sub(r"\bIN \((?:[^()]|\(\w+\))*\)", "IN (…)", self.sql)


def _origin() -> str:
    """The storage function on the call stack, as ``module.function``."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("storage.") and module not in ("storage.db", "storage.models"):
            return f"{module.removeprefix('storage.')}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


@contextmanager
def captured(engine: Engine) -> Iterator[list[Statement]]:
    """The SELECTs run on ``engine`` inside the block, in order."""
    seen: list[Statement] = []

    def listen(_c: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(Statement(_origin(), statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listen)


_TABLES = "|".join(LEDGER_TABLES)
FULL_SCAN = {
    "sqlite": re.compile(rf"\bSCAN ({_TABLES})\b"),
    "postgresql": re.compile(rf"\bSeq Scan on ({_TABLES})\b"),
}
# An index range bounded by the team alone: every row the team ever had in that table.
TEAM_WIDE = {
    "sqlite": re.compile(rf"\bSEARCH ({_TABLES}) USING (?:COVERING )?INDEX \S+ \(team_id=\?\)"),
    "postgresql": re.compile(r"Index Cond: \(\(team_id\)::text = '[^']*'::text\)$"),
}
_PG_SCAN = re.compile(r"Scan (?:Backward )?(?:using \S+ )?on (\w+)")


def scans(backend: str, plan: list[str]) -> list[str]:
    """The plan's reads of a whole ledger table, or of everything one team has in it."""
    found = []
    table_of_node = ""
    for line in plan:
        if match := FULL_SCAN[backend].search(line):
            found.append(match.group(0))
        elif backend == "sqlite" and (match := TEAM_WIDE[backend].search(line)):
            found.append(f"team-wide {match.group(1)}")
        elif backend == "postgresql":
            if node := _PG_SCAN.search(line):
                table_of_node = node.group(1)
            elif TEAM_WIDE[backend].search(line.strip()) and table_of_node in LEDGER_TABLES:
                found.append(f"team-wide {table_of_node}")
    return found


def explain(connection: Connection, statement: Statement) -> list[str]:
    """The statement's plan with its own parameters, one line per node."""
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement.sql}", statement.parameters).all()
        depth = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return lines
    return [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement.sql}", statement.parameters)]


def replay_seconds(connection: Connection, statement: Statement) -> float:
    """Run the statement alone on the driver and fetch every row."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        started = time.perf_counter()
        cursor.execute(statement.sql, statement.parameters)
        cursor.fetchall()
        return time.perf_counter() - started
    finally:
        cursor.close()


def median(values: Sequence[float]) -> float:
    return summary_ms(values)["p50_ms"]


def statements_of(prepared: Prepared, period: Period) -> list[Statement]:
    with captured(prepared.engine) as seen:
        compose_seconds(prepared, period)
    return seen


def benchmark(ledgers: Sequence[Prepared], reps: int) -> dict[str, Any]:
    """Time the digest on each ledger, the ledgers taking turns; then explain and replay its queries."""
    periods = [the_period(p) for p in ledgers]
    for prepared, period in zip(ledgers, periods, strict=True):
        for _ in range(WARM_UP):
            compose_seconds(prepared, period)
    timings: list[list[float]] = [[] for _ in ledgers]
    for rep in range(reps):
        order = list(range(len(ledgers)))
        for i in order if rep % 2 == 0 else order[::-1]:
            timings[i].append(compose_seconds(ledgers[i], periods[i]))

    captures = [statements_of(p, period) for p, period in zip(ledgers, periods, strict=True)]
    # One entry per distinct query, in the order the digest first issues it; the same query
    # issued again (one per owner) counts as one more occurrence.
    queries: dict[tuple[str, str], dict[str, Any]] = {}
    for prepared, statements in zip(ledgers, captures, strict=True):
        with prepared.engine.connect() as connection:
            for statement in statements:
                entry = queries.setdefault(
                    (statement.origin, statement.shape),
                    {"origin": statement.origin, "sql": statement.shape, "count": {}, "plan": {}},
                )
                key = prepared.key
                entry["count"][key] = entry["count"].get(key, 0) + 1
                if key not in entry["plan"]:
                    entry["plan"][key] = explain(connection, statement)
    replays: list[dict[tuple[str, str], list[float]]] = [defaultdict(list) for _ in ledgers]
    for rep in range(reps):
        order = list(range(len(ledgers)))
        for i in order if rep % 2 == 0 else order[::-1]:
            with ledgers[i].engine.connect() as connection:
                spent: dict[tuple[str, str], float] = defaultdict(float)
                for statement in captures[i]:
                    spent[(statement.origin, statement.shape)] += replay_seconds(connection, statement)
            for query, seconds in spent.items():
                replays[i][query].append(seconds)

    backend = ledgers[0].backend
    for query, entry in queries.items():
        entry["replay_p50_ms"] = {
            p.key: median(replays[i][query]) for i, p in enumerate(ledgers) if replays[i][query]
        }
        entry["full_scans"] = {key: scans(backend, plan) for key, plan in entry["plan"].items()}
        entry["team_filtered"] = "team_id" in entry["sql"].split("WHERE", 1)[-1]
    figures: dict[str, Any] = {
        "ledgers": {
            p.key: {
                "posts": p.shape.posts,
                "rows": p.counts,
                "seed_s": p.seed_s,
                "cached": p.cached,
                "period": [periods[i].start.isoformat(), periods[i].end.isoformat()],
                **summary_ms(timings[i]),
            }
            for i, p in enumerate(ledgers)
        },
        "queries": list(queries.values()),
    }
    small, big = (figures["ledgers"][p.key] for p in (ledgers[0], ledgers[-1]))
    figures["ratio_p50"] = round(big["p50_ms"] / small["p50_ms"], 2)
    figures["ratio_p99"] = round(big["p99_ms"] / small["p99_ms"], 2)
    figures["sql_ms"] = {
        p.key: round(sum(q["replay_p50_ms"].get(p.key, 0) for q in queries.values()), 2) for p in ledgers
    }
    return figures


# ---- reporting ----------------------------------------------------------------------------------


def print_figures(by_backend: dict[str, dict[str, Any]]) -> None:
    rows: list[Sequence[Any]] = []
    for backend, figures in by_backend.items():
        for key, f in figures["ledgers"].items():
            seeded = f"{f['seed_s']} (cached)" if f["cached"] else f["seed_s"]
            rows.append(
                [
                    backend,
                    f"{f['posts']:,}",
                    f"{f['rows']['snapshots']:,}",
                    f"{f['rows']['comments']:,}",
                    seeded,
                    f["p50_ms"],
                    f["p99_ms"],
                    f["mean_ms"],
                    figures["sql_ms"][key],
                ]
            )
    print(
        table(
            "Digest build vs ledger size: one channel's digest (ms)",
            ["backend", "posts", "snapshots", "comments", "seed s", "p50", "p99", "mean", "SQL p50"],
            rows,
        )
    )
    for backend, figures in by_backend.items():
        verdict = "meets" if figures["ratio_p50"] <= GOAL else "misses"
        print(
            f"{backend}: big/small p50 {figures['ratio_p50']}x ({verdict} the {GOAL}x goal), "
            f"p99 {figures['ratio_p99']}x"
        )
    for backend, figures in by_backend.items():
        keys = list(figures["ledgers"])
        rows = []
        for q in figures["queries"]:
            replay = q["replay_p50_ms"]
            ratio = (
                round(replay[keys[-1]] / replay[keys[0]], 2)
                if keys[0] in replay and keys[-1] in replay
                else "-"
            )
            flags = [f"{key}: {', '.join(found)}" for key, found in q["full_scans"].items() if found]
            if not q["team_filtered"]:
                flags.append("NO TEAM FILTER")
            rows.append(
                [q["origin"], "/".join(str(q["count"].get(k, 0)) for k in keys)]
                + [replay.get(k, "-") for k in keys]
                + [ratio, "; ".join(flags) or "-"]
            )
        print()
        print(
            table(
                f"{backend}: the digest's queries, replayed alone (p50 ms per digest)",
                ["query", "issued", *keys, "ratio", "whole-table reads"],
                rows,
            )
        )
        for q in figures["queries"]:
            sql = " ".join(q["sql"].split())
            print(f"\n{backend} {q['origin']}: {sql[:150]}{'…' if len(sql) > 150 else ''}")
            for key in keys:
                for line in q["plan"].get(key, []):
                    print(f"  [{key}] {line}")


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0] if __doc__ else "digest build",
        extra=[
            (
                "--reps",
                {"type": int, "default": None, "help": "timed digests per ledger (30; 5 with --quick)"},
            ),
            (
                "--cache-dir",
                {"default": None, "help": "where seeded SQLite ledgers are kept (default: the temp dir)"},
            ),
        ],
    )
    shapes = QUICK if args.quick else FULL
    reps = args.reps or (5 if args.quick else 30)
    cache_dir = Path(args.cache_dir or Path(tempfile.gettempdir()) / "twoway-bench-digest")
    by_backend: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        ledgers = []
        for shape in shapes:
            say(f"sqlite: ledger of {shape.posts:,} posts")
            ledgers.append(sqlite_ledger(stack, shape, cache_dir))
            cached = " (cached)" if ledgers[-1].cached else ""
            say(f"sqlite: {ledgers[-1].counts} seeded in {ledgers[-1].seed_s} s{cached}")
        by_backend["sqlite"] = benchmark(ledgers, reps)
    if args.postgres:
        with ExitStack() as stack:
            ledgers = []
            for shape in shapes:
                say(f"postgresql: ledger of {shape.posts:,} posts")
                ledgers.append(postgres_ledger(stack, args.postgres, shape))
                say(f"postgresql: {ledgers[-1].counts} seeded in {ledgers[-1].seed_s} s")
            by_backend["postgresql"] = benchmark(ledgers, reps)
    print_figures(by_backend)
    record(
        "digest_build",
        args.quick,
        {"goal": GOAL, "reps": reps, "head": head_revision(), "by_backend": by_backend},
    )


if __name__ == "__main__":
    main()
