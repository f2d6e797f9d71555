"""The privacy check: a workspace's chatter, through the real app, leaves nothing on disk.

Slack sends twoway every message of every channel it is in (the `message.channels` subscription). The
chatter among them (plain messages, replies under untracked messages, reactions with emojis no channel
uses), each carrying a marker, is acknowledged with no write; then no row of any table, and on SQLite
no byte of the database file once its WAL is checkpointed, holds the marker. The few relevant events
around it are still handled.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from bot import ledger, relevance
from bot.clock import utc_now
from bot.links import links_in_message
from storage.event_claims import claim_event, record_event_done
from storage.models import Comment, PostShare, ProcessedEvent, SeenRequest, Snapshot
from tests.flows.conftest import running_flow
from tests.support.flows import ADA, CHANNEL, GRACE, LINUS, TEAM, Flow
from tests.support.polling import eventually

POST = "https://x.com/twoway/status/1790000000000000002"


def _count(sessions: sessionmaker[Session], model: type) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _writes(flow: Flow) -> tuple[int, int]:
    """The rows the ack path writes: remembered signatures and event claims."""
    return _count(flow.sessions, SeenRequest), _count(flow.sessions, ProcessedEvent)


def _settled(flow: Flow, snapshots: int, comments: int) -> bool:
    with flow.sessions() as s:
        handling = s.scalar(
            select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.state == "handling")
        )
        return (
            handling == 0
            and s.scalar(select(func.count()).select_from(Snapshot)) == snapshots
            and s.scalar(select(func.count()).select_from(Comment)) == comments
        )


def _rows_holding(engine: Engine, marker: str) -> list[str]:
    """Every table's rows, each read as text, that contain ``marker``."""
    found: list[str] = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            quoted = connection.dialect.identifier_preparer.quote(table)
            if connection.dialect.name == "postgresql":
                rows = connection.execute(text(f"SELECT t::text FROM {quoted} AS t"))  # noqa: S608
                found += [f"{table}: {row[0]}" for row in rows if marker in row[0]]
            else:
                rows = connection.execute(text(f"SELECT * FROM {quoted}"))  # noqa: S608
                found += [f"{table}: {row}" for row in rows if marker in repr(tuple(row))]
    return found


def _files_holding(engine: Engine, marker: str) -> list[str]:
    """The SQLite database's files that hold ``marker``: the database and its WAL as they are, then the
    database once the WAL is checkpointed into it (the WAL keeps every page written since the last
    checkpoint, a row's earlier versions included)."""
    database = engine.url.database
    assert database
    files = [Path(database), Path(database + "-wal")]
    found = [
        f"{f.name} before the checkpoint" for f in files if f.exists() and marker.encode() in f.read_bytes()
    ]
    # Through the driver: the engine begins every transaction IMMEDIATE, and SQLite checkpoints none.
    raw = engine.raw_connection()
    try:
        busy, _, _ = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    assert busy == 0, "the WAL could not be checkpointed"
    return found + [f"{f.name} after it" for f in files if f.exists() and marker.encode() in f.read_bytes()]


def test_chatter_is_acknowledged_and_nothing_of_it_is_written(flow: Flow) -> None:
    marker = f"zq{uuid.uuid4().hex}"
    shared = flow.say(ADA, f"Part 2 is out: <{POST}>")
    eventually(lambda: _count(flow.sessions, PostShare), what="the post recorded")
    flow.say(GRACE, "14 comments, 3 replies, 20 shares, 51 likes", thread_ts=shared)
    question = flow.say(LINUS, "> Where is part 3?", thread_ts=shared)
    flow.react(GRACE, question, "speech_balloon")
    eventually(lambda: _settled(flow, snapshots=1, comments=1), what="the relevant events handled")
    before = _writes(flow)

    chatter = [flow.say(ADA, f"lunch at noon? {marker} {n}") for n in range(7)]
    for n in range(3):
        flow.say(GRACE, f"sure {marker} {n}", thread_ts=chatter[n])
    for ts in chatter[:2]:
        flow.react(LINUS, ts, "tada")
        flow.react(LINUS, ts, marker)
    # Slack has its 200 for each of them, and the ack path writes before it answers.
    assert _writes(flow) == before

    flow.say(ADA, "15 comments, 4 replies", thread_ts=shared)
    eventually(lambda: _settled(flow, snapshots=2, comments=1), what="a summary after the chatter")
    engine = flow.runtime.deps.sessions.kw["bind"]
    assert _rows_holding(engine, marker) == []
    if engine.dialect.name == "sqlite":
        assert _files_holding(engine, marker) == []


def test_a_summary_sent_before_its_post_is_recorded_is_still_handled(flow: Flow) -> None:
    # No wait between the two: the share's event may still be in the inbox when the reply comes.
    shared = flow.say(ADA, f"Part 3 is out: <{POST}>")
    flow.say(GRACE, "14 comments, 3 replies, 20 shares, 51 likes", thread_ts=shared)
    eventually(lambda: _settled(flow, snapshots=1, comments=0), what="the summary's snapshot")


def test_a_summary_waits_for_its_threads_message_still_being_handled_then_is_recorded(flow: Flow) -> None:
    parent = flow.say(ADA, "Part 4 goes out in a minute")
    # An event about that message, still in hand: another replica handling its edit that adds the link.
    claimed_at = utc_now()
    with flow.sessions.begin() as s:
        assert claim_event(
            s, TEAM, "Ev0PARENT001", body="{}", replica="elsewhere", now=claimed_at, message_ts=parent
        )
    reply = flow.say(GRACE, "14 comments, 3 replies, 20 shares, 51 likes", thread_ts=parent)

    def reply_state(s: Session) -> str | None:
        return s.scalar(select(ProcessedEvent.state).where(ProcessedEvent.message_ts == reply))

    def claimed() -> bool:
        with flow.sessions() as s:
            return reply_state(s) is not None

    eventually(claimed, what="the summary's event claimed")
    with flow.sessions.begin() as s:
        # The summary found no post yet, and waits for the message's event rather than drop it.
        assert reply_state(s) == "handling"
        ledger.share_links(
            s,
            TEAM,
            channel_id=CHANNEL,
            message_ts=parent,
            user_id=ADA,
            links=links_in_message(f"<{POST}>"),
            now=claimed_at,
            timezone="UTC",
        )
        assert record_event_done(s, TEAM, "Ev0PARENT001", claimed_at=claimed_at)
    eventually(lambda: _settled(flow, snapshots=1, comments=0), what="the summary's snapshot")


def test_the_events_ignored_since_the_last_count_are_logged_when_twoway_stops(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.relevance")
    with running_flow(db_url) as flow:
        chatter = [flow.say(ADA, f"lunch at noon? {n}") for n in range(2)]
        flow.react(GRACE, chatter[0], "tada")
        assert caplog.messages == []
    assert caplog.messages == [
        f"ignored 3 events that can't change the ledger: 2 {relevance.CHATTER}; 1 {relevance.UNUSED_REACTION}"
    ]
