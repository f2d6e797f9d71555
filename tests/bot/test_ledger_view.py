"""The relevance view on SQLite (`bot.relevance.LedgerView` on `storage.db.make_read_engine`): it answers
from what is committed while a listener holds the write lock, and sees that listener's commit at its
next check."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.relevance import LedgerView
from storage.channel_homes import claim_home
from storage.channel_sources import add_sources
from storage.channels import ensure_channel, get_channel
from storage.db import make_engine, make_read_engine, make_session_factory
from storage.event_claims import claim_event, record_event_done
from storage.migrate import upgrade
from storage.posts import SharedLink, record_share

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TEAM, CHANNEL = "T1", "C1"
LINK = SharedLink("https://x.com/a/status/1", "https://x.com/a/status/1", "x")
# Long enough for any machine, short of the 10 s busy timeout a read behind the lock would wait.
PROMPTLY = 5.0


@pytest.fixture
def engines(sqlite_url: str) -> Iterator[tuple[Engine, Engine]]:
    """The ledger's engine on a migrated SQLite file, and its read engine, not yet connected."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    reads = make_read_engine(engine)
    yield engine, reads
    reads.dispose()
    engine.dispose()


def share(s: Session, message_ts: str) -> None:
    record_share(s, TEAM, channel_id=CHANNEL, message_ts=message_ts, user_id="U1", link=LINK, shared_at=NOW)


def write_lock_taken(database: str) -> bool:
    """Whether another connection holds SQLite's write lock on ``database`` now."""
    probe = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        return True
    finally:
        probe.close()
    return False


def test_the_view_reads_what_is_committed_while_a_writer_holds_the_lock(
    engines: tuple[Engine, Engine],
) -> None:
    engine, reads = engines
    sessions = make_session_factory(engine)
    view = LedgerView(make_session_factory(reads), lambda: NOW)
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=NOW)
        share(s, "1.1")

    writer = sessions()
    writer.begin()
    share(writer, "2.2")
    channel = get_channel(writer, TEAM, CHANNEL)
    assert channel is not None
    channel.flag_emoji = "raising_hand"
    writer.flush()
    database = engine.url.database
    assert database is not None
    assert write_lock_taken(database)

    answers: list[bool] = []
    failures: list[BaseException] = []
    answered = threading.Event()

    def check() -> None:
        try:
            answers.extend(
                [
                    view.is_tracked_thread(TEAM, CHANNEL, "1.1"),
                    view.is_tracked_thread(TEAM, CHANNEL, "2.2"),
                    view.uses_emoji(TEAM, CHANNEL, "raising_hand"),
                    view.uses_emoji(TEAM, CHANNEL, "speech_balloon"),
                ]
            )
        except BaseException as error:
            failures.append(error)
        finally:
            answered.set()

    reader = threading.Thread(target=check)
    reader.start()
    try:
        assert answered.wait(PROMPTLY), "the view waited behind the writer"
        assert failures == []
        # Answered from the committed ledger, the writer's rows unseen, and the lock still the writer's.
        assert answers == [True, False, False, True]
        assert write_lock_taken(database)
    finally:
        writer.commit()
        writer.close()
        reader.join()

    assert view.is_tracked_thread(TEAM, CHANNEL, "2.2")
    assert view.uses_emoji(TEAM, CHANNEL, "raising_hand")


def test_the_view_answers_for_its_own_workspace_and_channel(sessions: sessionmaker[Session]) -> None:
    """Each check is one statement: a thread is tracked where its message shares a post, in that
    workspace and channel only; a channel's emojis are its settings, or the defaults before twoway saw it;
    a channel whose home is another workspace's is left to the listeners, whatever is asked."""
    view = LedgerView(sessions, lambda: NOW)
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=NOW)
        share(s, "1.1")
        channel = get_channel(s, TEAM, CHANNEL)
        assert channel is not None
        channel.flag_emoji = "raising_hand"
    assert view.is_tracked_thread(TEAM, CHANNEL, "1.1")
    assert not view.is_tracked_thread("T2", CHANNEL, "1.1")
    assert not view.is_tracked_thread(TEAM, "C2", "1.1")
    assert not view.is_tracked_thread(TEAM, CHANNEL, "1.2")
    assert view.uses_emoji(TEAM, CHANNEL, "raising_hand")
    assert not view.uses_emoji(TEAM, CHANNEL, "speech_balloon")
    assert view.uses_emoji(TEAM, "C2", "speech_balloon")
    assert not view.uses_emoji(TEAM, "C2", "raising_hand")
    with sessions.begin() as s:
        claim_home(s, "C3", "T9", None, NOW)
    assert view.is_tracked_thread(TEAM, "C3", "7.7")
    assert view.uses_emoji(TEAM, "C3", "tada")
    assert not view.is_tracked_thread("T9", "C3", "7.7")
    assert not view.uses_emoji("T9", "C3", "tada")


def test_a_reply_is_awaited_only_while_its_own_messages_event_is_in_hand(
    sessions: sessionmaker[Session],
) -> None:
    """A message posted a minute ago whose own event is claimed and not done may share a post any moment;
    another event in hand, of the same workspace, says nothing of it (it used to: under steady traffic,
    every reply under a recent message was claimed). An old message is settled: no read."""
    view = LedgerView(sessions, lambda: NOW)
    recent, other, old = (f"{(NOW.timestamp() - age):.6f}" for age in (60, 30, 3600))
    with sessions.begin() as s:
        claim_event(s, TEAM, "EvOther", body="{}", replica="a", now=NOW, message_ts=other)
    assert not view.may_share_soon(TEAM, recent)
    with sessions.begin() as s:
        claim_event(s, TEAM, "EvPost", body="{}", replica="a", now=NOW, message_ts=recent)
        claim_event(s, TEAM, "EvOld", body="{}", replica="a", now=NOW, message_ts=old)
    assert view.may_share_soon(TEAM, recent)
    assert not view.may_share_soon("T2", recent)
    assert not view.may_share_soon(TEAM, old)
    with sessions.begin() as s:
        record_event_done(s, TEAM, "EvPost", claimed_at=NOW)
    assert not view.may_share_soon(TEAM, recent)


def test_a_site_is_relevant_where_its_channel_names_it_from_the_next_check_on(
    sessions: sessionmaker[Session],
) -> None:
    """One statement per check: a host the channel names, in that workspace and channel only, seen at
    the first check after it is named; a channel whose home is another workspace's names every site."""
    view = LedgerView(sessions, lambda: NOW)
    with sessions.begin() as s:
        ensure_channel(s, TEAM, CHANNEL, now=NOW)
        ensure_channel(s, "T2", CHANNEL, now=NOW)
    assert not view.names_site(TEAM, CHANNEL, ["blog.acme.com"])
    with sessions.begin() as s:
        add_sources(s, TEAM, CHANNEL, "site", ["blog.acme.com"], by="U1", now=NOW)
    assert view.names_site(TEAM, CHANNEL, ["docs.google.com", "blog.acme.com"])
    assert not view.names_site(TEAM, CHANNEL, ["docs.google.com"])
    assert not view.names_site("T2", CHANNEL, ["blog.acme.com"])
    assert not view.names_site(TEAM, "C2", ["blog.acme.com"])
    with sessions.begin() as s:
        claim_home(s, "C3", "T9", None, NOW)
    assert view.names_site(TEAM, "C3", ["docs.google.com"])
