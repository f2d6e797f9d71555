"""The workspace mix: what Slack really sends an app subscribed to `message.channels`, mostly chatter.

Per 100 requests: 70 plain messages, 10 thread replies under untracked messages, 5 thread replies
under tracked posts (half of them engagement summaries), 8 reactions with emojis twoway doesn't use,
2 flag reactions, 3 messages sharing a post link and 2 `/twoway log` commands. Every
chatter message (plain, or a reply under an untracked message) carries `MARKER`, so that a search of
the ledger's files finds any of them kept; what can change the ledger (replies under tracked posts,
the comments flags land on) doesn't.

What the ledger must hold after a run follows from the mix: a post per link shared, a snapshot per
summary and per command, an open comment per flag.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bench.harness import PEOPLE, Slack, command_body, event_body, post_url
from storage.db import make_engine, make_session_factory
from storage.models import Base, Comment, Post, ProcessedEvent, Snapshot

# Each kind of request and how many of every 100 are of it.
PER_100 = {
    "plain": 70,
    "untracked reply": 10,
    "tracked reply": 5,
    "unused reaction": 8,
    "flag reaction": 2,
    "post link": 3,
    "command": 2,
}
CHATTER = ("plain", "untracked reply", "unused reaction")
MARKER = "chatter-7f3a9c"
FLAG = "speech_balloon"  # a channel's flag reaction unless /twoway settings changed it
UNUSED = ("thumbsup", "tada", "eyes_closed", "joy", "heart", "rocket", "pray", "clap")


def composition(count: int, seed: int = 14) -> list[str]:
    """The kinds of ``count`` requests (a multiple of 100), in the mix's proportions, shuffled."""
    if count <= 0 or count % 100:
        raise ValueError(f"the workspace mix comes in hundreds of requests, not {count}")
    kinds = [kind for kind, n in PER_100.items() for _ in range(n * count // 100)]
    random.Random(seed).shuffle(kinds)
    return kinds


@dataclass(frozen=True)
class Ledger:
    """What twoway's ledger holds for the benchmark's workspace."""

    posts: int = 0
    snapshots: int = 0
    comments: int = 0

    def reached(self, expected: Ledger) -> bool:
        return (
            self.posts >= expected.posts
            and self.snapshots >= expected.snapshots
            and self.comments >= expected.comments
        )


@dataclass(frozen=True)
class Mix:
    """Signed-to-be request bodies and what the ledger holds once twoway handled them all."""

    bodies: list[tuple[bytes, str]]
    kinds: Counter[str]
    expected: Ledger
    # The audience comments the flags land on, sent (untimed) once the tracked posts are in: as in a
    # channel, twoway saw them come into a tracked thread before anyone flagged them.
    setup: list[tuple[bytes, str]]


def build(slack: Slack, count: int, *, tracked: list[dict[str, Any]], first_post: int, seed: int = 14) -> Mix:
    """``count`` requests of the workspace mix, written in the emulator as people would write them.

    ``tracked`` are the envelopes of the messages that shared ``post_url(0)`` onwards, posts the ledger
    already tracks (their threads get the tracked replies); new links start at ``post_url(first_post)``.
    """
    rng = random.Random(seed)
    kinds = composition(count, seed)
    bodies: list[tuple[bytes, str]] = []
    event_ids: list[str] = []
    plain_ts: list[str] = []
    audience_ts: list[str] = []
    audience_ids: list[str] = []
    commands = 0
    snapshots = 0
    posts = 0
    flags = kinds.count("flag reaction")
    # Flags need audience comments to land on: replies under tracked posts that aren't summaries.
    for n in range(flags):
        thread = rng.choice(tracked)["event"]["ts"]
        # Each its own words: twoway takes the same text under one post for the same comment.
        said = slack.say(f"does this work on Android {n}?", PEOPLE[2], thread_ts=thread)
        audience_ts.append(said["ts"])
        audience_ids.append(said["event_id"])
    tracked_replies = 0
    for i, kind in enumerate(kinds):
        user = PEOPLE[i % len(PEOPLE)]
        match kind:
            case "plain":
                said = slack.say(f"{MARKER} lunch at noon? #{i}", user)
                plain_ts.append(said["ts"])
                event_ids.append(said["event_id"])
            case "untracked reply":
                parent = plain_ts[-1] if plain_ts else slack.say(f"{MARKER} standup notes", user)["ts"]
                event_ids.append(slack.say(f"{MARKER} agreed #{i}", user, thread_ts=parent)["event_id"])
            case "tracked reply":
                thread = rng.choice(tracked)["event"]["ts"]
                if tracked_replies % 2 == 0:
                    comments = rng.randint(0, 90)
                    counts = (comments, rng.randint(0, comments), rng.randint(0, 900))
                    words = "{} comments, {} replies, {} likes".format(*counts)
                    snapshots += 1
                else:
                    words = f"nice one #{i}"
                tracked_replies += 1
                event_ids.append(slack.say(words, user, thread_ts=thread)["event_id"])
            case "unused reaction":
                target = plain_ts[-1] if plain_ts else slack.say(f"{MARKER} hello", user)["ts"]
                event_ids.append(slack.react(target, user, UNUSED[i % len(UNUSED)])["event_id"])
            case "flag reaction":
                event_ids.append(slack.react(audience_ts.pop(), PEOPLE[0], FLAG)["event_id"])
            case "post link":
                said = slack.say(f"out now <{post_url(first_post + posts)}>", user)
                event_ids.append(said["event_id"])
                posts += 1
            case "command":
                response_url, trigger_id = slack.response_urls(1)[0]
                post = post_url(rng.randrange(len(tracked)))
                comments = rng.randint(0, 90)
                # A valid log: twoway refuses more replies sent than comments received, and records nothing.
                line = f"log {post} comments={comments} replies={rng.randint(0, comments)}"
                bodies.append(
                    command_body(line, response_url, trigger_id, team=slack.team, channel=slack.channel)
                )
                commands += 1
                snapshots += 1
    envelopes = slack.envelopes(event_ids)
    # The events go out in the order people acted; the commands fall where they came in the mix.
    events = iter(event_body(e) for e in envelopes)
    command_bodies = iter(bodies)
    ordered = [next(command_bodies) if kind == "command" else next(events) for kind in kinds]
    return Mix(
        ordered,
        Counter(kinds),
        Ledger(posts=len(tracked) + posts, snapshots=snapshots, comments=flags),
        [event_body(e) for e in slack.envelopes(audience_ids)],
    )


def ledger_of(database_url: str, teams: Sequence[str]) -> Ledger:
    """Posts, snapshots and comments the ledger holds for ``teams``."""
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as s:
            return _held(s, teams)
    finally:
        engine.dispose()


def wait_ledger(
    database_url: str, teams: Sequence[str], expected: Ledger, timeout: float = 300
) -> tuple[Ledger, float]:
    """Wait until the ledger holds ``expected`` for ``teams`` and none of their events is still being
    handled; return what it held and how long that took."""
    started = time.monotonic()
    held = Ledger()
    engine = make_engine(database_url)
    try:
        sessions = make_session_factory(engine)
        while time.monotonic() - started < timeout:
            with sessions() as s:
                held = _held(s, teams)
                if held.reached(expected) and _handling(s, teams) == 0:
                    break
            time.sleep(0.1)
    finally:
        engine.dispose()
    return held, time.monotonic() - started


def _held(s: Session, teams: Sequence[str]) -> Ledger:
    def count(model: Any) -> int:
        return s.scalar(select(func.count()).select_from(model).where(model.team_id.in_(teams))) or 0

    return Ledger(posts=count(Post), snapshots=count(Snapshot), comments=count(Comment))


def _handling(s: Session, teams: Sequence[str]) -> int:
    """Events claimed and not yet done or failed."""
    claimed = select(func.count()).select_from(ProcessedEvent)
    return s.scalar(claimed.where(ProcessedEvent.team_id.in_(teams), ProcessedEvent.state == "handling")) or 0


@dataclass(frozen=True)
class Footprint:
    """Rows in every twoway table, and the bytes the database takes on disk."""

    rows: int
    bytes: int


def footprint(database_url: str) -> Footprint:
    """The database's rows and size: the SQLite file with its WAL checkpointed into it, or the sum of
    ``pg_total_relation_size`` (tables, indexes, TOAST) over twoway's tables on PostgreSQL. The
    benchmark's database holds its one workspace only."""
    engine = make_engine(database_url)
    try:
        rows = _rows(engine)
        if engine.dialect.name == "sqlite":
            path = engine.url.database or ""
            # Out of SQLAlchemy's transaction handling: a checkpoint can't run inside a transaction.
            with closing(sqlite3.connect(path, isolation_level=None)) as raw:
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            size = os.path.getsize(path)
        else:
            with engine.connect() as conn:
                size = sum(
                    conn.scalar(text("SELECT pg_total_relation_size(:t)"), {"t": table.name}) or 0
                    for table in Base.metadata.sorted_tables
                )
        return Footprint(rows, int(size))
    finally:
        engine.dispose()


def _rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return sum(
            conn.scalar(select(func.count()).select_from(table)) or 0 for table in Base.metadata.sorted_tables
        )
