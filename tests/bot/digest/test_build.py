from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.digest.build import (
    CONVERSATION_LIMIT,
    CONVERSATION_MIN_COMMENTS,
    WAITING_LIMIT,
    Broadcaster,
    Counts,
    DigestInput,
    LostDigest,
    LostNudge,
    PostLine,
    Streak,
    Undelivered,
    WaitingComment,
    build_digest,
    order_broadcasters,
)
from bot.digest.period import Period, next_slot_after, period_ending, slot_at_or_before
from bot.metrics import CommentFact, PostFact, Rate, SnapshotFact

# The week Monday 6 May 2024 09:00 UTC to Monday 13 May 09:00, digested at its end.
START = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)
NOW = START + timedelta(weeks=1)
PERIOD = Period(START, NOW)
PREVIOUS = Period(START - timedelta(weeks=1), START)


def at(hours: float) -> datetime:
    """Hours after the period's start; negative for the week before."""
    return START + timedelta(hours=hours)


def post(
    post_id: int, owner: str, shared: float, *counts: tuple[float, int, int], platform: str = "x"
) -> PostFact:
    """A post shared `shared` hours into the period; snapshots as (hours after sharing, comments, replies)."""
    snapshots = tuple(SnapshotFact(at(shared + h), c, r, 0, 0) for h, c, r in counts)
    return PostFact(
        post_id, owner, platform, f"https://x.com/{owner}/status/{post_id}", at(shared), snapshots
    )


def answered(comment_id: int, *, flagged: float, waited: float, written: float | None = None) -> CommentFact:
    since = flagged if written is None else written
    return CommentFact(
        comment_id=comment_id,
        post_id=1,
        owner="U1",
        state="answered",
        written_at=None if written is None else at(written),
        flagged_at=at(flagged),
        answered_at=at(since + waited),
    )


def waiting(comment_id: int, since: float, owner: str = "U1") -> WaitingComment:
    return WaitingComment(
        comment_id=comment_id,
        text=f"comment {comment_id}",
        author=None,
        since=at(since),
        platform="x",
        post_url=f"https://x.com/{owner}/status/1",
        owner=owner,
    )


def data(
    posts: list[PostFact] | None = None,
    *,
    previous_posts: list[PostFact] | None = None,
    history: dict[str, list[PostFact]] | None = None,
    open_comments: list[WaitingComment] | None = None,
    answered_comments: list[CommentFact] | None = None,
    missed_previous: bool = False,
) -> DigestInput:
    return DigestInput(
        channel_id="C1",
        period=PERIOD,
        previous=PREVIOUS,
        posts=posts or [],
        previous_posts=previous_posts or [],
        owner_history=history or {},
        waiting=open_comments or [],
        answered=answered_comments or [],
        missed_previous=missed_previous,
    )


# A week in one channel, worked out by hand below.
#
# post  owner  shared  snapshots (hours after, comments, replies)  at 48h      latest
# 1     U1     1h      (24h, 5, 0), (72h, 8, 2)                    one-way     8 c, 2 r
# 2     U3     25h     (30h, 4, 4)                                 talked      4 c, 4 r
# 3     U3     49h     (50h, 3, 6)                                 talked      3 c, 6 r
# 4     U1     73h     (24h, 0, 0)                                 no comments 0 c, 0 r
# 5     U1     145h    (20h, 2, 0)   only 22h old at NOW: undecided            2 c, 0 r
# 6     U2     50h     (40h, 6, 0)                                 one-way     6 c, 0 r
WEEK_POSTS = [
    post(1, "U1", 1, (24, 5, 0), (72, 8, 2)),
    post(2, "U3", 25, (30, 4, 4)),
    post(3, "U3", 49, (50, 3, 6), platform="linkedin"),
    post(4, "U1", 73, (24, 0, 0)),
    post(5, "U1", 145, (20, 2, 0)),
    post(6, "U2", 50, (40, 6, 0)),
]
# U1 before this week, newest first: 11 and 12 one-way (4 and 3 comments), then 13 a
# conversation that ends the run, then 14 one-way but beyond it.
U1_HISTORY = [
    post(11, "U1", -30, (24, 4, 0)),
    post(12, "U1", -60, (24, 3, 0)),
    post(13, "U1", -90, (24, 2, 1)),
    post(14, "U1", -120, (24, 9, 0)),
]
# U2: one earlier one-way post, so two in a row: not a streak.
U2_HISTORY = [post(21, "U2", -40, (24, 5, 0))]
# The week before: 10 comments and 5 replies, then 2 comments and none.
LAST_WEEK_POSTS = [post(31, "U1", -100, (24, 10, 5)), post(32, "U2", -80, (24, 2, 0))]
ANSWERED = [
    # this week: waits of 1, 3 and 10 hours (the 10 from when it was written, not flagged)
    answered(41, flagged=2, waited=1),
    answered(42, flagged=20, waited=3),
    answered(43, flagged=30, written=25, waited=10),
    # the week before: 2 and 4 hours
    answered(44, flagged=-50, waited=2),
    answered(45, flagged=-20, waited=4),
    # answered before either week: not counted
    answered(46, flagged=-400, waited=1),
]


def week() -> DigestInput:
    return data(
        WEEK_POSTS,
        previous_posts=LAST_WEEK_POSTS,
        history={"U1": U1_HISTORY + WEEK_POSTS[:1], "U2": U2_HISTORY, "U3": []},
        open_comments=[waiting(1, 10), waiting(2, 5)],
        answered_comments=ANSWERED,
    )


def line(p: PostFact) -> PostLine:
    latest = max(p.snapshots, key=lambda s: s.recorded_at)
    return PostLine(p.post_id, p.owner, p.platform, p.url, p.shared_at, latest.comments, latest.replies)


def test_counts_of_the_week_and_the_week_before() -> None:
    digest = build_digest(week(), NOW)
    # replies 2+4+6+0+0+0 = 12, comments 8+4+3+0+2+6 = 23; answered per post min(r, c):
    # 2+4+3+0+0+0 = 9, so 9/23 = 39%.
    assert digest.counts == Counts(
        posts=6,
        rate=Rate(replies=12, comments=23, value=9 / 23),
        answered=3,
        median_time_to_answer=timedelta(hours=3),
    )
    assert digest.counts.rate.percent_text() == "39%"
    # 5 of 12 = 41%; the median of 2 and 4 hours is 3.
    assert digest.previous_counts == Counts(
        posts=2,
        rate=Rate(replies=5, comments=12, value=5 / 12),
        answered=2,
        median_time_to_answer=timedelta(hours=3),
    )
    assert digest.previous_counts.rate.percent_text() == "41%"
    assert not digest.quiet


def test_one_way_posts_per_owner_and_streaks() -> None:
    digest = build_digest(week(), NOW)
    # U1, newest first: 5 undecided (skipped), 4 no comments (skipped), 1, 11, 12 one-way, 13 talked.
    # Streak 3 over posts 1, 11, 12: 8+4+3 = 15 comments; post 1 got 2 replies after 48 hours.
    # Comment 2 has waited longest on U1's posts (since hour 5); nothing waits on U2's.
    oldest = waiting(2, 5)
    u1 = Broadcaster("U1", (line(WEEK_POSTS[0]),), Streak(posts=3, comments=15, replies=2), oldest)
    # U2: posts 6 and 21 one-way, a run of 2: no streak line.
    u2 = Broadcaster("U2", (line(WEEK_POSTS[5]),), None)
    assert digest.broadcasters == (u1, u2)
    assert u1.comments == 8
    assert u2.comments == 6


def test_a_streak_without_a_one_way_post_this_week_still_shows() -> None:
    history = [post(50 + n, "U4", -24 * (n + 2), (24, 2, 0)) for n in range(4)]
    silent = post(60, "U4", 10, (24, 0, 0))
    digest = build_digest(data([silent], history={"U4": history}), NOW)
    assert digest.broadcasters == (Broadcaster("U4", (), Streak(posts=4, comments=8, replies=0)),)


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        # (comments, replies) of each post, oldest first, a day apart; None: in its first 48 hours
        ([(3, 0), (3, 0), (3, 0)], Streak(3, 9, 0)),
        ([(1, 0), (2, 0), (3, 0), (4, 0)], Streak(4, 10, 0)),
        ([(3, 0), (3, 0)], None),
        # a conversation breaks it: only the two after it count
        ([(3, 0), (3, 0), (3, 0), (3, 1), (5, 0), (5, 0)], None),
        ([(3, 0), (3, 1), (5, 0), (5, 0), (5, 0)], Streak(3, 15, 0)),
        # posts nobody commented on are skipped
        ([(3, 0), (0, 0), (3, 0), (0, 0), (3, 0), (0, 0)], Streak(3, 9, 0)),
    ],
)
def test_streak_lines(kinds: list[tuple[int, int]], expected: Streak | None) -> None:
    posts = [post(70 + n, "U5", -24 * len(kinds) + 24 * n - 72, (24, c, r)) for n, (c, r) in enumerate(kinds)]
    this_week = post(90, "U5", 0, (24, 0, 0))
    digest = build_digest(data([this_week], history={"U5": posts}), NOW)
    streaks = [b.streak for b in digest.broadcasters]
    assert streaks == ([] if expected is None else [expected])


def test_people_in_order_of_their_oldest_waiting_comment_never_by_streak() -> None:
    posts = [
        post(1, "UA", 1, (24, 1, 0)),
        post(2, "UB", 2, (24, 1, 0)),
        post(3, "UB", 3, (24, 1, 0)),
        post(4, "UC", 4, (24, 1, 0)),
        post(7, "UD", 5, (24, 1, 0)),
    ]
    # UC is on a streak of 3, and still comes after the people whose audience waited longer.
    history = {"UC": [post(5, "UC", -50, (24, 1, 0)), post(6, "UC", -100, (24, 1, 0))]}
    open_comments = [waiting(1, 40, "UA"), waiting(2, 10, "UB"), waiting(3, 30, "UB"), waiting(4, 20, "UA")]
    digest = build_digest(data(posts, history=history, open_comments=open_comments), NOW)
    assert [b.owner for b in digest.broadcasters] == ["UB", "UA", "UC", "UD"]
    assert [b.oldest.comment_id if b.oldest else None for b in digest.broadcasters] == [2, 4, None, None]
    assert digest.broadcasters[2].streak is not None


def test_people_with_nothing_waiting_follow_by_name_once_named() -> None:
    digest = build_digest(data([post(1, "UA", 1, (24, 1, 0)), post(2, "UB", 2, (24, 1, 0))]), NOW)
    names = {"UA": "zoe", "UB": "Ada"}
    assert [b.owner for b in order_broadcasters(digest.broadcasters, names)] == ["UB", "UA"]


def test_conversations_ranked_by_the_share_of_comments_answered() -> None:
    posts = [
        post(1, "U1", 1, (24, 31, 4), platform="youtube"),  # many replies, most comments left alone
        post(2, "U1", 2, (24, 10, 9)),  # 9 of 10
        post(3, "U2", 3, (24, 5, 40)),  # over-answered: counts as 5 of 5
        post(4, "U2", 4, (24, 20, 10)),  # 10 of 20
        post(5, "U3", 5, (24, 6, 0)),  # one-way: not a conversation
        post(6, "U3", 6, (24, 4, 4)),  # 4 of 4, under the minimum of comments
        post(7, "U3", 7, (24, 8, 8)),  # 8 of 8: the same share as 3, more comments
        post(8, "U3", 8, (24, 0, 3)),  # replies to nothing recorded: not one
        post(9, "U4", 9, (24, 12, 4)),  # a third answered
    ]
    digest = build_digest(data(posts), NOW)
    assert [c.post_id for c in digest.conversations] == [7, 3, 2, 4, 9]
    assert len(digest.conversations) == CONVERSATION_LIMIT
    assert digest.conversations[0] == line(posts[6])
    assert 1 not in [c.post_id for c in digest.conversations]
    assert 6 not in [c.post_id for c in digest.conversations]


def test_a_conversation_needs_the_minimum_of_comments() -> None:
    under = build_digest(data([post(1, "U1", 1, (24, CONVERSATION_MIN_COMMENTS - 1, 2))]), NOW)
    assert under.conversations == ()
    at_it = build_digest(data([post(1, "U1", 1, (24, CONVERSATION_MIN_COMMENTS, 1))]), NOW)
    assert [c.post_id for c in at_it.conversations] == [1]


def test_waiting_oldest_first_cut_at_ten() -> None:
    # 13 comments; 3 and 9 written at the same time (tie: lower id first); 13 written after NOW.
    sinces = {
        1: 30,
        2: -200,
        3: 10,
        4: -5,
        5: 100,
        6: 50,
        7: 60,
        8: -1000,
        9: 10,
        10: 0,
        11: 1,
        12: 2,
        13: 200,
    }
    open_comments = [waiting(n, h) for n, h in sinces.items()]
    digest = build_digest(data(open_comments=open_comments[::-1]), NOW)
    assert [item.comment.comment_id for item in digest.waiting.items] == [8, 2, 4, 10, 11, 12, 3, 9, 1, 6]
    assert len(digest.waiting.items) == WAITING_LIMIT
    assert digest.waiting.total == 13
    assert digest.waiting.more == 3
    # 8 since 1000 hours before the start: 1000 + 168
    assert digest.waiting.items[0].age == timedelta(hours=1168)
    assert digest.waiting.items[-1].age == timedelta(hours=118)
    assert not digest.quiet


def test_a_comment_from_the_future_has_waited_no_time() -> None:
    digest = build_digest(data(open_comments=[waiting(1, 500)]), NOW)
    assert digest.waiting.items[0].age == timedelta(0)


def test_posts_outside_the_period_and_snapshots_after_now_are_left_out() -> None:
    posts = [
        post(1, "U1", -1, (2, 5, 0)),
        post(2, "U1", 168, (1, 5, 0)),  # shared exactly at the slot: next week's
        post(3, "U1", 0, (24, 6, 1), (500, 9, 9)),  # the second snapshot is after NOW
    ]
    digest = build_digest(data(posts), NOW)
    assert digest.counts.posts == 1
    assert digest.counts.rate == Rate(replies=1, comments=6, value=1 / 6)
    assert digest.conversations[0].comments == 6


def test_quiet_week() -> None:
    quiet = build_digest(data(previous_posts=LAST_WEEK_POSTS), NOW)
    assert quiet.quiet
    assert quiet.counts == Counts(posts=0, rate=Rate(0, 0, None), answered=0, median_time_to_answer=None)
    assert quiet.previous_counts.posts == 2


def test_empty_channel() -> None:
    empty = build_digest(data(missed_previous=True), NOW)
    assert empty.quiet
    assert empty.missed_previous
    assert empty.waiting.total == 0
    assert empty.broadcasters == ()
    assert empty.conversations == ()
    assert empty.previous_counts == empty.counts


def test_what_was_not_delivered_is_kept_in_order_and_does_not_make_a_week_busy() -> None:
    older = Period(PREVIOUS.start - timedelta(weeks=1), PREVIOUS.start)
    lost = Undelivered(
        digests=(LostDigest(PREVIOUS, "ratelimited"), LostDigest(older, None)),
        nudges=(
            LostNudge(9, 2, "fatal_error", True),
            LostNudge(3, 1, None, False),
            LostNudge(9, 1, None, True),
        ),
    )

    digest = build_digest(replace(data(missed_previous=True), undelivered=lost), NOW)

    assert digest.undelivered == Undelivered(
        digests=(LostDigest(older, None), LostDigest(PREVIOUS, "ratelimited")),
        nudges=(
            LostNudge(3, 1, None, False),
            LostNudge(9, 1, None, True),
            LostNudge(9, 2, "fatal_error", True),
        ),
    )
    assert digest.undelivered
    assert digest.quiet
    assert not build_digest(data(), NOW).undelivered
    assert not Undelivered()


@pytest.mark.parametrize(
    "input_data",
    [
        data(open_comments=[waiting(1, 0)]),
        data(answered_comments=[answered(1, flagged=3, waited=2)]),
        data([post(1, "U1", 1)]),
    ],
)
def test_not_quiet_with_anything_to_say(input_data: DigestInput) -> None:
    assert not build_digest(input_data, NOW).quiet


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


MONDAY_9 = {"weekday": 0, "minute": 9 * 60}


@pytest.mark.parametrize(
    ("now", "schedule", "zone", "before", "after"),
    [
        # exactly at the slot: it is the slot at or before now, the next is a week on
        (utc(2024, 5, 13, 9), MONDAY_9, "UTC", utc(2024, 5, 13, 9), utc(2024, 5, 20, 9)),
        (utc(2024, 5, 13, 8, 59), MONDAY_9, "UTC", utc(2024, 5, 6, 9), utc(2024, 5, 13, 9)),
        (utc(2024, 5, 13, 9, 1), MONDAY_9, "UTC", utc(2024, 5, 13, 9), utc(2024, 5, 20, 9)),
        (utc(2024, 5, 12, 23), MONDAY_9, "UTC", utc(2024, 5, 6, 9), utc(2024, 5, 13, 9)),
        (utc(2024, 5, 15, 12), MONDAY_9, "UTC", utc(2024, 5, 13, 9), utc(2024, 5, 20, 9)),
        # Wednesday midnight, Sunday 23:59, Saturday noon
        (utc(2024, 5, 14, 12), {"weekday": 2, "minute": 0}, "UTC", utc(2024, 5, 8), utc(2024, 5, 15)),
        (utc(2024, 5, 15), {"weekday": 2, "minute": 0}, "UTC", utc(2024, 5, 15), utc(2024, 5, 22)),
        (
            utc(2024, 5, 13),
            {"weekday": 6, "minute": 1439},
            "UTC",
            utc(2024, 5, 12, 23, 59),
            utc(2024, 5, 19, 23, 59),
        ),
        (
            utc(2024, 5, 11, 12),
            {"weekday": 5, "minute": 720},
            "UTC",
            utc(2024, 5, 11, 12),
            utc(2024, 5, 18, 12),
        ),
        # 08:00 in Los Angeles (PDT, UTC-7) is before Monday's 09:00 there
        (utc(2024, 5, 13, 15), MONDAY_9, "America/Los_Angeles", utc(2024, 5, 6, 16), utc(2024, 5, 13, 16)),
        # Monday 08:30 in Tokyo is still Sunday in UTC
        (
            utc(2024, 5, 12, 23, 30),
            {"weekday": 0, "minute": 8 * 60},
            "Asia/Tokyo",
            utc(2024, 5, 12, 23),
            utc(2024, 5, 19, 23),
        ),
        # India's half-hour offset
        (utc(2024, 5, 13, 3, 29), MONDAY_9, "Asia/Kolkata", utc(2024, 5, 6, 3, 30), utc(2024, 5, 13, 3, 30)),
    ],
)
def test_slots(now: datetime, schedule: dict[str, int], zone: str, before: datetime, after: datetime) -> None:
    assert slot_at_or_before(now, zone=zone, **schedule) == before
    assert next_slot_after(now, zone=zone, **schedule) == after


@pytest.mark.parametrize(
    ("zone", "slot", "start", "hours"),
    [
        # Monday 09:00 after the clocks went forward on Sunday 31 March: 09:00 CET to 09:00 CEST
        ("Europe/Paris", utc(2024, 4, 1, 7), utc(2024, 3, 25, 8), 167),
        # and after they went back on Sunday 27 October
        ("Europe/Paris", utc(2024, 10, 28, 8), utc(2024, 10, 21, 7), 169),
        ("Europe/Paris", utc(2024, 11, 4, 8), utc(2024, 10, 28, 8), 168),
        ("America/New_York", utc(2024, 3, 11, 13), utc(2024, 3, 4, 14), 167),
        ("America/New_York", utc(2024, 11, 4, 14), utc(2024, 10, 28, 13), 169),
        # southern hemisphere: Sydney leaves summer time on 7 April and starts it on 6 October
        ("Australia/Sydney", utc(2024, 4, 7, 23), utc(2024, 3, 31, 22), 169),
        ("Australia/Sydney", utc(2024, 10, 6, 22), utc(2024, 9, 29, 23), 167),
        ("UTC", utc(2024, 5, 13, 9), utc(2024, 5, 6, 9), 168),
    ],
)
def test_period_across_dst_changes(zone: str, slot: datetime, start: datetime, hours: int) -> None:
    assert slot_at_or_before(slot, zone=zone, **MONDAY_9) == slot
    period = period_ending(slot, zone)
    assert period == Period(start, slot)
    assert period.end - period.start == timedelta(hours=hours)
    assert slot_at_or_before(period.start, zone=zone, **MONDAY_9) == period.start


@pytest.mark.parametrize(
    ("zone", "now", "minute", "slot", "period_start"),
    [
        # 02:30 on Sunday 31 March doesn't exist in Paris: it resolves forward to 03:30 CEST.
        ("Europe/Paris", utc(2024, 3, 31, 1, 30), 150, utc(2024, 3, 31, 1, 30), utc(2024, 3, 24, 2, 30)),
        ("Europe/Paris", utc(2024, 3, 31, 1, 29), 150, utc(2024, 3, 24, 1, 30), utc(2024, 3, 17, 1, 30)),
        # 02:30 on Sunday 27 October happens twice: the first, 02:30 CEST, is the slot.
        ("Europe/Paris", utc(2024, 10, 27, 1), 150, utc(2024, 10, 27, 0, 30), utc(2024, 10, 20, 0, 30)),
        ("Europe/Paris", utc(2024, 11, 3, 1, 30), 150, utc(2024, 11, 3, 1, 30), utc(2024, 10, 27, 0, 30)),
        ("America/New_York", utc(2024, 3, 10, 8), 150, utc(2024, 3, 10, 7, 30), utc(2024, 3, 3, 8, 30)),
        ("America/New_York", utc(2024, 11, 3, 6), 90, utc(2024, 11, 3, 5, 30), utc(2024, 10, 27, 5, 30)),
        ("America/New_York", utc(2024, 11, 10, 7), 90, utc(2024, 11, 10, 6, 30), utc(2024, 11, 3, 5, 30)),
    ],
)
def test_sunday_night_slots_in_the_changing_hour(
    zone: str, now: datetime, minute: int, slot: datetime, period_start: datetime
) -> None:
    assert slot_at_or_before(now, weekday=6, minute=minute, zone=zone) == slot
    assert period_ending(slot, zone).start == period_start
    assert next_slot_after(slot - timedelta(microseconds=1), weekday=6, minute=minute, zone=zone) == slot


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"now": datetime(2024, 5, 13), "weekday": 0, "minute": 0}, "aware"),
        ({"now": NOW, "weekday": 7, "minute": 0}, "weekday"),
        ({"now": NOW, "weekday": 0, "minute": 1440}, "minute"),
    ],
)
def test_bad_schedules_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        slot_at_or_before(zone="UTC", **kwargs)  # type: ignore[arg-type]


ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Sydney",
    "Australia/Lord_Howe",  # half-hour DST
    "America/Santiago",  # changes at midnight
    "Asia/Kathmandu",
    "Pacific/Chatham",
]


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    return wall.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall


@given(
    now=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)),
    weekday=st.integers(0, 6),
    minute=st.integers(0, 1439),
    zone=st.sampled_from(ZONES),
)
def test_slots_bracket_now_and_periods_are_seven_local_days(
    now: datetime, weekday: int, minute: int, zone: str
) -> None:
    slot = slot_at_or_before(now, weekday=weekday, minute=minute, zone=zone)
    following = next_slot_after(now, weekday=weekday, minute=minute, zone=zone)
    assert slot <= now < following
    assert slot.tzinfo == UTC
    assert following.tzinfo == UTC
    assert next_slot_after(slot, weekday=weekday, minute=minute, zone=zone) == following

    tz = ZoneInfo(zone)
    local = slot.astimezone(tz)
    assert local.weekday() == weekday
    if _exists(local.replace(tzinfo=None).replace(hour=minute // 60, minute=minute % 60), tz):
        assert local.hour * 60 + local.minute == minute

    period = period_ending(slot, zone)
    assert period.end == slot
    wall_start = local.replace(tzinfo=None) - timedelta(days=7)
    assert period.start.astimezone(tz).date() == wall_start.date()
    if _exists(wall_start, tz):
        assert period.start.astimezone(tz).replace(tzinfo=None) == wall_start
    assert timedelta(hours=166) <= period.end - period.start <= timedelta(hours=170)


def test_posts_with_no_numbers_by_now_are_missing_not_one_way_oldest_first() -> None:
    posts = [
        post(1, "U1", 50),
        post(2, "U2", 10),
        post(3, "U1", 20, (1, 6, 0)),
        # Logged after `now`: not known when the digest was composed.
        post(4, "U1", 30, (200, 6, 0)),
    ]
    digest = build_digest(data(posts), NOW)
    assert [line.post_id for line in digest.missing] == [2, 4, 1]
    assert digest.unjudged() == (("U1", 2), ("U2", 1))
    [broadcaster] = digest.broadcasters
    assert [line.post_id for line in broadcaster.one_way] == [3]
    assert digest.counts.posts == 4


def test_a_week_whose_posts_all_have_numbers_misses_none() -> None:
    digest = build_digest(data([post(1, "U1", 1, (1, 3, 1))]), NOW)
    assert digest.missing == ()
    assert digest.unjudged() == ()
