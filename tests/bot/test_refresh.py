"""The refresher against the emulator, on SQLite and PostgreSQL: each change draws a message once across
replicas, a change during an update draws it again, 429s are waited out, failures back off, and a
message Slack no longer has is forgotten."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot import live
from bot.flagging import redraw_notice
from bot.refresh import FIRST_BACKOFF, MAX_REFRESH_ATTEMPTS, REDRAWS, Redraw, Refresher
from bot.render import Message
from emulator import Emulator, EmulatorSettings
from storage.models import PostedMessage
from tests.support.publishing import (
    CHANNEL,
    SLOT,
    TEAM,
    Clock,
    control,
    flagged,
    posted,
    slack_client,
)

Sessions = sessionmaker[Session]


@pytest.fixture
def clock() -> Clock:
    return Clock(SLOT + timedelta(minutes=1))


@pytest.fixture
def emu(clock: Clock) -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(clock=lambda: clock.now.timestamp())) as emulator:
        yield emulator


def refresher(
    sessions: Sessions, emu: Emulator, clock: Clock, replica: str = "test:1", **kwargs: Any
) -> Refresher:
    client = slack_client(emu)
    return Refresher(sessions, lambda team: client, replica, clock, **kwargs)


def noticed(sessions: Sessions, emu: Emulator, clock: Clock, n: int = 1) -> tuple[int, int, str]:
    """A comment and its notice in Slack, remembered; returns the comment's id, the message's and its ts."""
    comment_id = flagged(sessions, emu, clock, n)
    ts = str(slack_client(emu).chat_postMessage(channel=CHANNEL, text="Comment #1 is waiting")["ts"])
    with sessions.begin() as s:
        live.notice_posted(s, TEAM, comment_id, CHANNEL, ts, now=clock.now)
        message_id = s.scalars(select(PostedMessage.id).where(PostedMessage.ts == ts)).one()
    return comment_id, message_id, ts


def changed(sessions: Sessions, comment_id: int, clock: Clock) -> None:
    with sessions.begin() as s:
        assert live.comments_changed(s, TEAM, [comment_id], now=clock.now) == 1


def row(sessions: Sessions, message_id: int) -> PostedMessage | None:
    with sessions.begin() as s:
        found = s.get(PostedMessage, message_id)
        if found is not None:
            s.expunge(found)
        return found


def updates(emu: Emulator) -> list[dict[str, Any]]:
    return posted(emu, "chat.update")


def test_a_change_draws_the_message_once_and_leaves_it_clean(
    sessions: Sessions, emu: Emulator, clock: Clock
) -> None:
    comment_id, message_id, ts = noticed(sessions, emu, clock)
    assert refresher(sessions, emu, clock).run() == []
    changed(sessions, comment_id, clock)
    [outcome] = refresher(sessions, emu, clock).run()
    assert (outcome.message_id, outcome.status) == (message_id, "updated")
    [call] = updates(emu)
    assert call["args"]["ts"] == ts
    assert f"Comment #{comment_id}" in call["args"]["text"]
    kept = row(sessions, message_id)
    assert kept is not None
    assert (kept.stale_since, kept.claimed_by, kept.attempts, kept.refreshed_at) == (None, None, 0, clock.now)
    assert refresher(sessions, emu, clock).run() == []
    assert len(updates(emu)) == 1


def test_two_replicas_update_each_change_once(sessions: Sessions, emu: Emulator, clock: Clock) -> None:
    made = [noticed(sessions, emu, clock, n) for n in range(1, 4)]
    for comment_id, _, _ in made:
        changed(sessions, comment_id, clock)
    replicas = [refresher(sessions, emu, clock, replica=f"test:{n}") for n in range(2)]
    barrier = threading.Barrier(len(replicas))
    outcomes: list[list[Any]] = []

    def run(r: Refresher) -> None:
        barrier.wait()
        outcomes.append(r.run())

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done = sorted(o.message_id for ran in outcomes for o in ran if o.status == "updated")
    assert done == sorted(message_id for _, message_id, _ in made)
    assert sorted(c["args"]["ts"] for c in updates(emu)) == sorted(ts for _, _, ts in made)

    # A second change of one comment: one more update, whichever replica runs first.
    changed(sessions, made[0][0], clock)
    assert [o.status for r in replicas for o in r.run()] == ["updated"]
    assert len(updates(emu)) == 4


def test_a_change_during_an_update_draws_the_message_again(
    sessions: Sessions, emu: Emulator, clock: Clock
) -> None:
    comment_id, message_id, _ = noticed(sessions, emu, clock)
    changed(sessions, comment_id, clock)
    drawn: list[datetime] = []

    def changing_meanwhile(
        s: Session, team_id: str, recipe: dict[str, Any], now: datetime, names: Mapping[str, str]
    ) -> Message | None:
        if not drawn:
            # Someone clicks while the first update is under way.
            clock.advance(timedelta(seconds=1))
            with sessions.begin() as other:
                assert live.comments_changed(other, TEAM, [comment_id], now=clock.now) == 1
        drawn.append(now)
        return redraw_notice(s, team_id, recipe, now, names)

    redraws: dict[str, Redraw] = {**REDRAWS, "notice": changing_meanwhile}
    outcomes = refresher(sessions, emu, clock, redraws=redraws).run()
    assert [o.status for o in outcomes] == ["still_stale", "updated"]
    assert len(updates(emu)) == 2
    kept = row(sessions, message_id)
    assert kept is not None
    assert kept.stale_since is None


def test_a_rate_limited_update_is_waited_out(sessions: Sessions, emu: Emulator, clock: Clock) -> None:
    comment_id, message_id, _ = noticed(sessions, emu, clock)
    changed(sessions, comment_id, clock)
    control(emu, "POST", "/_emulator/faults", {"method": "chat.update", "status": 429, "count": 2})
    [outcome] = refresher(sessions, emu, clock).run()
    assert outcome.status == "updated"
    tried = emu.calls("chat.update")
    assert [c["ok"] for c in tried] == [False, False, True]
    kept = row(sessions, message_id)
    assert kept is not None
    assert kept.stale_since is None


def test_failed_updates_back_off_then_are_left_with_their_error(
    sessions: Sessions, emu: Emulator, clock: Clock
) -> None:
    comment_id, message_id, _ = noticed(sessions, emu, clock)
    changed(sessions, comment_id, clock)
    control(emu, "POST", "/_emulator/faults", {"method": "chat.update", "status": 500})
    r = refresher(sessions, emu, clock)
    wait = FIRST_BACKOFF
    for attempt in range(1, MAX_REFRESH_ATTEMPTS + 1):
        [outcome] = r.run()
        assert (outcome.status, outcome.error) == ("failed", "fatal_error")
        assert r.run() == [], "it waits out its backoff"
        clock.advance(wait + timedelta(seconds=1))
        wait *= 2
        kept = row(sessions, message_id)
        assert kept is not None
        assert (kept.attempts, kept.error, kept.claimed_by) == (attempt, "fatal_error", None)
    assert r.run() == [], "out of attempts, it is left with its error"
    control(emu, "DELETE", "/_emulator/faults")
    assert r.run() == []
    kept = row(sessions, message_id)
    assert kept is not None
    assert kept.stale_since is not None


def test_a_message_slack_no_longer_has_is_forgotten(sessions: Sessions, emu: Emulator, clock: Clock) -> None:
    comment_id, message_id, ts = noticed(sessions, emu, clock)
    slack_client(emu).chat_delete(channel=CHANNEL, ts=ts)
    changed(sessions, comment_id, clock)
    [outcome] = refresher(sessions, emu, clock).run()
    assert (outcome.status, outcome.error) == ("forgotten", "message_not_found")
    assert row(sessions, message_id) is None


def test_messages_older_than_their_life_are_neither_drawn_nor_kept(
    sessions: Sessions, emu: Emulator, clock: Clock
) -> None:
    comment_id, message_id, _ = noticed(sessions, emu, clock)
    clock.advance(live.KEEP_POSTED + timedelta(minutes=1))
    changed(sessions, comment_id, clock)
    r = refresher(sessions, emu, clock)
    assert r.run() == []
    assert updates(emu) == []
    assert r.purge() == 1
    assert row(sessions, message_id) is None
