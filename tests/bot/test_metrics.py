from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.metrics import (
    STREAK_MIN,
    CommentFact,
    PostFact,
    Rate,
    Report,
    SnapshotFact,
    age,
    broadcast_streak,
    build_report,
    format_duration,
    is_conversation,
    is_one_way,
    latest,
    median_timedelta,
    reply_rate,
    time_to_answer,
)

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def snap(hours: float, comments: int = 0, replies: int = 0, shares: int = 0, likes: int = 0) -> SnapshotFact:
    return SnapshotFact(at(hours), comments, replies, shares, likes)


def post(*snapshots: SnapshotFact, shared: float = 0, post_id: int = 1, owner: str = "U1") -> PostFact:
    return PostFact(post_id, owner, "x", f"https://x.com/a/status/{post_id}", at(shared), snapshots)


def comment(
    state: str = "open",
    *,
    written: float | None = None,
    flagged: float = 0,
    answered: float | None = None,
    post_id: int = 1,
    comment_id: int = 1,
) -> CommentFact:
    return CommentFact(
        comment_id=comment_id,
        post_id=post_id,
        owner="U1",
        state=state,
        written_at=None if written is None else at(written),
        flagged_at=at(flagged),
        answered_at=None if answered is None else at(answered),
    )


# What one post had a day after it was shared: (comments received, replies sent), or no snapshot.
Kind = tuple[int, int] | None
ONE_WAY: Kind = (3, 0)
TALKED: Kind = (3, 1)
SILENT: Kind = (0, 0)
UNRECORDED: Kind = None


@pytest.mark.parametrize(
    ("snapshots", "expected"),
    [
        ((), None),
        ((snap(1, 1),), snap(1, 1)),
        ((snap(5, 2), snap(1, 1), snap(9, 3), snap(3, 4)), snap(9, 3)),
    ],
)
def test_latest(snapshots: tuple[SnapshotFact, ...], expected: SnapshotFact | None) -> None:
    assert latest(post(*snapshots)) == expected


@pytest.mark.parametrize(
    ("snapshots", "now", "expected"),
    [
        ((), 100, False),
        ((snap(24, comments=3),), 100, True),
        ((snap(24, comments=3, replies=1),), 100, False),
        ((snap(24),), 100, False),
        # the snapshot nearest before the 48-hour mark decides, not the latest
        ((snap(24, comments=3), snap(60, comments=3, replies=2)), 100, True),
        ((snap(24), snap(60, comments=5)), 100, False),
        ((snap(60, comments=3, replies=2), snap(24, comments=3)), 100, True),
        ((snap(10, comments=1), snap(40, comments=2, replies=1)), 100, False),
        # exactly at the mark counts as before it
        ((snap(48, comments=3), snap(49, comments=3, replies=1)), 100, True),
        # none before the mark: the earliest after it
        ((snap(60, comments=3),), 100, True),
        ((snap(60, comments=3), snap(90, comments=4, replies=1)), 100, True),
        ((snap(60, comments=3, replies=1), snap(90, comments=4, replies=1)), 100, False),
        ((snap(60), snap(90, comments=4)), 100, False),
        # not one-way while the team can still answer
        ((snap(1, comments=3),), 47.9, False),
        ((snap(1, comments=3),), 48, True),
        # a snapshot recorded after `now` isn't known yet
        ((snap(60, comments=3),), 50, False),
        ((snap(24), snap(60, comments=3)), 50, False),
    ],
)
def test_is_one_way(snapshots: tuple[SnapshotFact, ...], now: float, expected: bool) -> None:
    assert is_one_way(post(*snapshots), at(now)) is expected


@pytest.mark.parametrize(
    ("snapshots", "expected"),
    [
        ((), False),
        ((snap(1, comments=3, replies=1),), True),
        ((snap(1, comments=3),), False),
        ((snap(1, replies=2),), False),
        ((snap(1),), False),
        ((snap(100, comments=3, replies=1), snap(1, comments=3)), True),
        ((snap(1, comments=3, replies=1), snap(100, comments=3)), False),
    ],
)
def test_is_conversation(snapshots: tuple[SnapshotFact, ...], expected: bool) -> None:
    assert is_conversation(post(*snapshots)) is expected


def _history(*kinds: Kind) -> list[PostFact]:
    """One owner's posts a day apart, oldest first."""
    return [
        post(
            *(() if kind is None else (snap(day * 24 + 24, comments=kind[0], replies=kind[1]),)),
            shared=day * 24,
            post_id=day,
        )
        for day, kind in enumerate(kinds)
    ]


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        ((), 0),
        ((ONE_WAY,), 1),
        ((ONE_WAY, ONE_WAY, ONE_WAY), 3),
        ((TALKED, ONE_WAY, ONE_WAY, ONE_WAY), 3),
        # broken by a conversation: only the newer run counts
        ((ONE_WAY, ONE_WAY, ONE_WAY, TALKED, ONE_WAY), 1),
        ((ONE_WAY, ONE_WAY, ONE_WAY, TALKED), 0),
        # posts nobody commented on are skipped, not breaks
        ((ONE_WAY, SILENT, ONE_WAY, SILENT, SILENT, ONE_WAY, SILENT), 3),
        ((SILENT, SILENT), 0),
        ((ONE_WAY, UNRECORDED, ONE_WAY), 2),
    ],
)
def test_broadcast_streak(kinds: tuple[Kind, ...], expected: int) -> None:
    posts = _history(*kinds)
    now = at(len(kinds) * 24 + 48)
    assert broadcast_streak(posts, now) == expected
    assert broadcast_streak(reversed(posts), now) == expected


def test_broadcast_streak_waits_for_recent_posts_to_be_decided() -> None:
    older = _history(ONE_WAY, ONE_WAY, ONE_WAY)
    now = at(3 * 24 + 30)
    unanswered_yet = post(snap(3 * 24 + 1, comments=2), shared=3 * 24, post_id=10)
    answered_already = post(snap(3 * 24 + 1, comments=2, replies=1), shared=3 * 24, post_id=11)
    assert broadcast_streak([*older, unanswered_yet], now) == STREAK_MIN
    assert broadcast_streak([*older, answered_already], now) == 0


@pytest.mark.parametrize(
    ("posts", "expected"),
    [
        ([], Rate(replies=0, comments=0, value=None)),
        ([post()], Rate(replies=0, comments=0, value=None)),
        ([post(snap(1, replies=2))], Rate(replies=2, comments=0, value=None)),
        ([post(snap(1, comments=4, replies=3))], Rate(replies=3, comments=4, value=0.75)),
        ([post(snap(1, comments=4))], Rate(replies=0, comments=4, value=0.0)),
        # capped: more replies than comments is still 100%
        ([post(snap(1, comments=3, replies=5))], Rate(replies=5, comments=3, value=1.0)),
        # an over-answered post can't hide an ignored one
        (
            [post(snap(1, comments=2, replies=10)), post(snap(1, comments=2), post_id=2)],
            Rate(replies=10, comments=4, value=0.5),
        ),
        # latest snapshot per post only
        ([post(snap(1, comments=4), snap(9, comments=4, replies=4))], Rate(replies=4, comments=4, value=1.0)),
        ([post(snap(1, comments=4, replies=1)), post(post_id=2)], Rate(replies=1, comments=4, value=0.25)),
    ],
)
def test_reply_rate(posts: list[PostFact], expected: Rate) -> None:
    assert reply_rate(posts) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "—"),
        (0.0, "0%"),
        (0.75, "75%"),
        (0.29, "29%"),
        (0.57, "57%"),
        (2 / 3, "66%"),
        (199 / 200, "99%"),
        (1.0, "100%"),
    ],
)
def test_percent_text(value: float | None, text: str) -> None:
    assert Rate(replies=0, comments=0, value=value).percent_text() == text


@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 10**9)), max_size=3),
        max_size=8,
    )
)
def test_reply_rate_is_within_0_and_1(counts: list[list[tuple[int, int]]]) -> None:
    posts = [
        post(*(snap(i, comments=c, replies=r) for i, (c, r) in enumerate(snapshots)), post_id=n)
        for n, snapshots in enumerate(counts)
    ]
    rate = reply_rate(posts)
    assert rate.value is None or 0 <= rate.value <= 1
    assert (rate.value is None) == (rate.comments == 0)
    assert rate.percent_text() == "—" or 0 <= int(rate.percent_text()[:-1]) <= 100


@pytest.mark.parametrize(
    ("c", "now", "expected"),
    [
        (comment(written=2, flagged=5), 10, timedelta(hours=8)),
        (comment(flagged=5), 10, timedelta(hours=5)),
        (comment(written=12, flagged=5), 10, timedelta(0)),
    ],
)
def test_age(c: CommentFact, now: float, expected: timedelta) -> None:
    assert age(c, at(now)) == expected


H = timedelta(hours=1)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        ([3 * H], 3 * H),
        ([5 * H, 1 * H, 3 * H], 3 * H),
        ([4 * H, 1 * H, 2 * H, 3 * H], 2.5 * H),
        ([1 * H, 2 * H], 1.5 * H),
        ([timedelta(0), timedelta(microseconds=1)], timedelta(0)),
        ([9 * H, 9 * H, 1 * H], 9 * H),
    ],
)
def test_median_timedelta(values: list[timedelta], expected: timedelta | None) -> None:
    assert median_timedelta(values) == expected
    assert median_timedelta(iter(values)) == expected


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (comment("open", flagged=1), None),
        (comment("dismissed", flagged=1), None),
        (comment("answered", written=1, flagged=3, answered=7), 6 * H),
        (comment("answered", flagged=3, answered=7), 4 * H),
        (comment("answered", written=8, flagged=3, answered=7), timedelta(0)),
        (comment("answered", flagged=3, answered=1), timedelta(0)),
        (comment("answered", flagged=3), None),
    ],
)
def test_time_to_answer(c: CommentFact, expected: timedelta | None) -> None:
    assert time_to_answer(c) == expected


def test_build_report() -> None:
    start, end, now = at(0), at(7 * 24), at(7 * 24 + 72)
    posts = [
        post(snap(24, comments=4), shared=0, post_id=1),  # one-way
        post(snap(30, comments=4, replies=3), snap(10, comments=1), shared=1, post_id=2),  # conversation
        post(snap(100, likes=9), shared=50, post_id=3),  # nobody commented
        post(shared=7 * 24 - 1, post_id=4),  # no snapshot yet, still in the period
        post(snap(-20, comments=50), shared=-24, post_id=5),  # before the period
        post(snap(7 * 24 + 2, comments=9), shared=7 * 24, post_id=6),  # at `end`: next period
        post(snap(7 * 24 + 100, comments=3), shared=2, post_id=7),  # recorded after `now`
    ]
    comments = [
        comment("open", written=7 * 24 + 70, flagged=7 * 24 + 71, post_id=1, comment_id=1),  # 2 h old
        comment("open", flagged=7 * 24 + 62, post_id=5, comment_id=2),  # 10 h old, older post
        comment("open", flagged=7 * 24, post_id=99, comment_id=3),  # not on a post passed in
        comment("answered", written=10, flagged=12, answered=14, post_id=2, comment_id=4),  # 4 h
        comment("answered", flagged=20, answered=21, post_id=2, comment_id=5),  # 1 h
        comment("answered", flagged=20, answered=7 * 24, post_id=2, comment_id=6),  # after the period
        comment("dismissed", flagged=20, post_id=2, comment_id=7),
    ]
    assert build_report(posts, comments, start=start, end=end, now=now) == Report(
        posts=5,
        comments_received=8,
        replies_sent=3,
        reply_rate=Rate(replies=3, comments=8, value=3 / 8),
        one_way_posts=1,
        conversations=1,
        open_comments=2,
        median_open_age=6 * H,
        answered_in_period=2,
        median_time_to_answer=2.5 * H,
    )


def test_empty_report() -> None:
    assert build_report([], [], start=at(0), end=at(24), now=at(24)) == Report(
        posts=0,
        comments_received=0,
        replies_sent=0,
        reply_rate=Rate(replies=0, comments=0, value=None),
        one_way_posts=0,
        conversations=0,
        open_comments=0,
        median_open_age=None,
        answered_in_period=0,
        median_time_to_answer=None,
    )


@pytest.mark.parametrize(
    ("td", "text"),
    [
        (timedelta(-5), "under a minute"),
        (timedelta(0), "under a minute"),
        (timedelta(seconds=59), "under a minute"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=45, seconds=59), "45 minutes"),
        (timedelta(minutes=59), "59 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(hours=3, minutes=59), "3 hours"),
        (timedelta(hours=23, minutes=59), "23 hours"),
        (timedelta(days=1), "1 day"),
        (timedelta(days=3, hours=23), "3 days"),
        (timedelta(days=7), "7 days"),
        (timedelta(days=13, hours=23), "13 days"),
        (timedelta(days=14), "2 weeks"),
        (timedelta(days=20), "2 weeks"),
        (timedelta(days=21), "3 weeks"),
        (timedelta(days=400), "57 weeks"),
    ],
)
def test_format_duration(td: timedelta, text: str) -> None:
    assert format_duration(td) == text


def test_reach_is_summed_beside_the_rate_never_in_it() -> None:
    start, end, now = at(0), at(7 * 24), at(7 * 24)
    posts = [
        post(snap(1, comments=4, replies=1), replace(snap(2, comments=4, replies=1), views=900), post_id=1),
        post(replace(snap(3, comments=2, replies=2), views=100, saves=3), post_id=2),
        post(snap(4, comments=1), post_id=3),  # no reach stated
        post(replace(snap(-2, comments=5), views=10**6), shared=-24, post_id=4),  # before the period
    ]
    report = build_report(posts, [], start=start, end=end, now=now)
    assert (report.views, report.impressions, report.saves) == (1000, None, 3)
    assert report.reply_rate == Rate(replies=3, comments=7, value=3 / 7)
