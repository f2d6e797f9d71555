"""Watching posts, the pure parts: the cadence of fetches, and what a fetched thread says (whose replies
are the team's, which audience replies are answered and when, the numbers); and across fetches, a
comment someone dismissed stays dismissed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.watcher import Watcher
from bot.watching import (
    LAST_SLOT,
    account_of_reply,
    backoff,
    next_due,
    read_thread,
    slot_of,
    slot_start,
    spread_of,
)
from storage.channel_sources import add_sources
from storage.comments import close_comment
from storage.models import Comment
from tests.support.readers import Clock, FakeReader, reply, thread, watched_post

Sessions = sessionmaker[Session]
TEAM, CHANNEL = "T0TWOWAY1", "C0SOCIAL01"
GRACE = "U0GRACE001"
ANCHOR = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
URL = "https://bsky.app/profile/acme.bsky.social/post/3kabc"
HOST = "bsky.app"

anchors = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC))
spreads = st.floats(min_value=0, max_value=1, exclude_max=True)
offsets = st.timedeltas(min_value=timedelta(hours=-1), max_value=timedelta(days=32))


@given(anchors, spreads, offsets, offsets)
def test_slots_never_go_back_as_time_goes_on(
    anchor: datetime, spread: float, a: timedelta, b: timedelta
) -> None:
    early, late = sorted((a, b))
    first, second = slot_of(anchor, anchor + early, spread), slot_of(anchor, anchor + late, spread)
    if first is None:
        assert second is None
    elif second is not None:
        assert first <= second


@given(anchors, spreads, st.integers(min_value=1, max_value=LAST_SLOT))
def test_each_slot_starts_after_the_one_before_and_holds_its_own_start(
    anchor: datetime, spread: float, k: int
) -> None:
    assert slot_start(anchor, k, spread) < slot_start(anchor, k + 1, spread)
    assert slot_of(anchor, slot_start(anchor, k, spread), spread) == k
    assert slot_of(anchor, slot_start(anchor, k, spread) - timedelta(microseconds=1), spread) == k - 1
    assert next_due(anchor, k - 1, spread) == slot_start(anchor, k, spread)


@given(anchors, spreads, st.integers(min_value=1, max_value=LAST_SLOT - 1))
def test_slots_last_15_minutes_in_the_first_day_an_hour_in_the_first_week_then_a_day(
    anchor: datetime, spread: float, k: int
) -> None:
    start, end = slot_start(anchor, k, spread) - anchor, slot_start(anchor, k + 1, spread) - anchor
    if end <= timedelta(days=1):
        assert end - start == timedelta(minutes=15)
    elif timedelta(days=1) <= start and end <= timedelta(days=7):
        assert end - start == timedelta(hours=1)
    elif timedelta(days=7) <= start:
        assert end - start == timedelta(days=1)
    else:
        # The slot that crosses into the next phase: longer than the one before, shorter than the next.
        assert timedelta(minutes=15) < end - start < timedelta(days=1, hours=1)


@given(anchors, spreads, offsets)
def test_watching_stops_30_days_after_the_anchor(anchor: datetime, spread: float, age: timedelta) -> None:
    slot = slot_of(anchor, anchor + age, spread)
    assert (slot is None) == (age >= timedelta(days=30))


@pytest.mark.parametrize(
    ("age", "slot"),
    [
        (timedelta(0), 0),
        (timedelta(minutes=14, seconds=59), 0),
        (timedelta(minutes=15), 1),
        (timedelta(hours=23, minutes=59), 95),
        (timedelta(days=1), 96),
        (timedelta(days=6, hours=23, minutes=59), 239),
        (timedelta(days=7), 240),
        (timedelta(days=29, hours=23), 262),
        (timedelta(days=30), None),
        (timedelta(minutes=-5), 0),
    ],
)
def test_the_boundaries_of_the_phases_with_no_offset(age: timedelta, slot: int | None) -> None:
    assert slot_of(ANCHOR, ANCHOR + age, 0.0) == slot


def test_the_last_slot_has_no_next_and_watching_ends_30_days_after_the_anchor() -> None:
    assert LAST_SLOT == 262
    assert next_due(ANCHOR, LAST_SLOT, 0.5) is None
    assert slot_of(ANCHOR, ANCHOR + timedelta(days=29, hours=12), 0.5) == LAST_SLOT
    assert slot_of(ANCHOR, ANCHOR + timedelta(days=29, hours=11), 0.5) == LAST_SLOT - 1
    assert slot_of(ANCHOR, ANCHOR + timedelta(days=30) - timedelta(microseconds=1), 0.99) == LAST_SLOT
    assert slot_of(ANCHOR, ANCHOR + timedelta(days=30), 0.0) is None


def test_posts_shared_together_are_spread_over_the_interval() -> None:
    spreads = [spread_of(post_id) for post_id in range(1, 101)]
    assert all(0 <= spread < 1 for spread in spreads)
    assert spread_of(7) == spread_of(7)
    # A hundred posts shared at once start their second slot in every 3-minute part of a quarter hour.
    parts = {int(slot_start(ANCHOR, 1, spread).minute // 3) for spread in spreads}
    assert parts == {5, 6, 7, 8, 9}


def test_backoff_doubles_from_a_minute_to_an_hour() -> None:
    assert [backoff(n) for n in (1, 2, 3, 7, 8, 50)] == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=60),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


@pytest.mark.parametrize(
    ("network", "author", "forms"),
    [
        ("bluesky", "Acme.bsky.social", ("bsky.app/profile/acme.bsky.social",)),
        ("mastodon", "acme@mastodon.social", ("mastodon.social/@acme",)),
        ("mastodon", "acme", ("mastodon.social/@acme",)),
        ("mastodon", "ada@fosstodon.org", ("fosstodon.org/@ada", "mastodon.social/@ada@fosstodon.org")),
    ],
)
def test_a_replys_author_in_the_form_channels_list_accounts(
    network: str, author: str, forms: tuple[str, ...]
) -> None:
    assert account_of_reply(network, author, "mastodon.social") == forms


def at(minutes: int) -> datetime:
    return ANCHOR + timedelta(minutes=minutes)


def test_three_audience_replies_are_three_open_comments_and_the_counts_are_the_threads() -> None:
    replies = [reply(f"r{i}", by=f"fan{i}.bsky.social", at=at(i)) for i in (1, 2, 3)]
    reading = read_thread(thread(*replies, created_at=ANCHOR, shares=4, quotes=2, likes=9), [], HOST)
    assert [(seen.reply.id, seen.answered_at) for seen in reading.audience] == [
        ("r1", None),
        ("r2", None),
        ("r3", None),
    ]
    counts = reading.counts
    assert (counts.comments_received, counts.replies_sent, counts.shares, counts.quotes, counts.likes) == (
        3,
        0,
        4,
        2,
        9,
    )


def test_the_authors_reply_answers_the_one_it_is_under_at_its_time_and_a_reply_to_it_is_new() -> None:
    replies = [
        reply("r1", by="fan1.bsky.social", at=at(1)),
        reply("r2", by="fan2.bsky.social", at=at(2)),
        reply("ours", parent="r1", by="acme.bsky.social", by_id="did:plc:acme", at=at(30)),
        reply("ours-again", parent="ours", by="acme.bsky.social", by_id="did:plc:acme", at=at(90)),
        reply("back", parent="ours", by="fan1.bsky.social", at=at(40)),
    ]
    reading = read_thread(thread(*replies, created_at=ANCHOR), [], HOST)
    assert [(seen.reply.id, seen.answered_at) for seen in reading.audience] == [
        ("r1", at(30)),
        ("r2", None),
        ("back", None),
    ]
    assert (reading.counts.comments_received, reading.counts.replies_sent) == (3, 2)


def test_an_answer_deeper_in_the_thread_answers_every_reply_above_it() -> None:
    replies = [
        reply("r1", by="fan1.bsky.social", at=at(1)),
        reply("r2", parent="r1", by="fan2.bsky.social", at=at(2)),
        reply("ours", parent="r2", by="acme.bsky.social", by_id="did:plc:acme", at=at(5)),
    ]
    reading = read_thread(thread(*replies, created_at=ANCHOR), [], HOST)
    assert [(seen.reply.id, seen.answered_at) for seen in reading.audience] == [("r1", at(5)), ("r2", at(5))]


def test_a_reply_by_an_account_the_channel_lists_is_the_teams() -> None:
    replies = [
        reply("r1", by="fan1.bsky.social", at=at(1)),
        reply("care", parent="r1", by="acme-care.bsky.social", at=at(10)),
    ]
    shown = thread(*replies, created_at=ANCHOR)
    listed = read_thread(shown, ["bsky.app/profile/acme-care.bsky.social"], HOST)
    assert [(seen.reply.id, seen.answered_at) for seen in listed.audience] == [("r1", at(10))]
    # Comments received are the replies by anyone but the post's author; the care account's is one.
    assert (listed.counts.comments_received, listed.counts.replies_sent) == (2, 1)
    unlisted = read_thread(shown, [], HOST)
    assert [(seen.reply.id, seen.answered_at) for seen in unlisted.audience] == [("r1", None), ("care", None)]


def test_hidden_replies_are_neither_counted_nor_comments() -> None:
    replies = [reply("r1", by="fan1.bsky.social", at=at(1)), reply("spam", by="spam.bsky.social", at=at(2))]
    reading = read_thread(thread(*replies, created_at=ANCHOR, hidden=["spam"]), [], HOST)
    assert [seen.reply.id for seen in reading.audience] == ["r1"]
    assert reading.counts.comments_received == 1


def test_mastodon_has_no_quote_count_and_its_own_accounts_are_by_instance() -> None:
    replies = [
        reply("1", by="fan@fosstodon.org", at=at(1)),
        reply("2", parent="1", by="acme_help", by_id="999", at=at(3)),
    ]
    shown = thread(*replies, network="mastodon", created_at=ANCHOR, quotes=0)
    reading = read_thread(shown, ["mastodon.social/@acme_help"], "mastodon.social")
    assert reading.counts.quotes is None
    assert [(seen.reply.id, seen.answered_at) for seen in reading.audience] == [("1", at(3))]


def test_a_dismissed_comment_stays_dismissed_and_an_answered_one_answered_across_fetches(
    sessions: Sessions,
) -> None:
    with sessions.begin() as s:
        post_id = watched_post(s, TEAM, CHANNEL, URL, shared_at=ANCHOR)
        add_sources(s, TEAM, CHANNEL, "account", ["bsky.app/profile/acme.bsky.social"], by=None, now=ANCHOR)
    first = [reply("r1", by="fan1.bsky.social", at=at(1)), reply("r2", by="fan2.bsky.social", at=at(2))]
    ours = reply("ours", parent="r2", by="acme.bsky.social", by_id="did:plc:acme", at=at(20))
    reader = FakeReader()
    more = reply("r1-more", parent="r1", by="fan1.bsky.social", at=at(25))
    ours2 = reply("ours2", parent="r1-more", by="acme.bsky.social", by_id="did:plc:acme", at=at(50))
    reader.show(
        URL,
        thread(*first, created_at=ANCHOR),
        thread(*first, ours, more, created_at=ANCHOR),
        # The team's first answer is deleted (r2 stays answered); a second one sits under the dismissed r1.
        thread(*first, more, ours2, created_at=ANCHOR),
    )
    clock = Clock(at(5))
    watcher = Watcher(sessions, {"bluesky": reader}, "replica-a", clock, lambda: [TEAM])
    assert watcher.run_once().fetched == 1
    with sessions.begin() as s:
        r1 = s.scalars(select(Comment).where(Comment.remote_id == "r1")).one()
        assert close_comment(s, TEAM, r1.id, state="dismissed", by=GRACE, at=at(6))
    for minutes in (30, 60):
        clock.now = at(minutes)
        assert watcher.run_once().fetched == 1
    assert reader.calls[URL] == 3
    with sessions.begin() as s:
        states = {
            c.remote_id: (c.state, c.answered_at, c.dismissed_by)
            for c in s.scalars(select(Comment).where(Comment.team_id == TEAM, Comment.post_id == post_id))
        }
    assert states == {
        "r1": ("dismissed", None, GRACE),
        "r2": ("answered", at(20), None),
        "r1-more": ("answered", at(50), None),
    }
