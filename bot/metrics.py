"""Report and digest arithmetic over plain facts: reply rate, one-way posts, streaks, ages.

Pure: the storage layer builds the facts from rows, callers pass `now`, and
nothing here reads a clock. There is deliberately no composite score: every
figure is a count, a ratio shown with its counts, or a duration.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

ONE_WAY_WINDOW = timedelta(hours=48)
"""A post is judged one-way or not by what it had at the end of its first 48 hours."""

STREAK_MIN = 3
"""The shortest run of one-way posts that PRODUCT.md calls a broadcast streak."""

ReportPeriod = Literal["week", "month"]
"""What `/twoway report` covers: the last 7 days, or the last 30."""
REPORT_DAYS: dict[ReportPeriod, int] = {"week": 7, "month": 30}


@dataclass(frozen=True)
class SnapshotFact:
    recorded_at: datetime
    comments: int
    replies: int
    shares: int
    likes: int
    # Reach: None where never stated; shown beside the counts, never part of a rate.
    views: int | None = None
    impressions: int | None = None
    saves: int | None = None
    # Where the counts came from: "thread", "command", "import", or "fetched" from the post's network.
    source: str = ""


@dataclass(frozen=True)
class PostFact:
    post_id: int
    owner: str
    platform: str
    url: str
    shared_at: datetime
    snapshots: tuple[SnapshotFact, ...]  # any order


@dataclass(frozen=True)
class CommentFact:
    comment_id: int
    post_id: int
    owner: str
    state: str  # "open" | "answered" | "dismissed"
    written_at: datetime | None
    flagged_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class Rate:
    """Replies sent and comments received, and the share of comments answered."""

    replies: int
    comments: int
    value: float | None

    def percent_text(self) -> str:
        """`value` as a whole percentage such as "75%", or "—" when there were no comments."""
        if self.value is None:
            return "—"
        # Rounded down, so "100%" only ever means every comment was answered; the epsilon
        # keeps 0.29 * 100 == 28.999… from showing as 28%.
        return f"{math.floor(self.value * 100 + 1e-9)}%"


@dataclass(frozen=True)
class Report:
    """A period's figures, for `/twoway report`, the digest and the Home tab."""

    posts: int
    comments_received: int
    replies_sent: int
    reply_rate: Rate
    one_way_posts: int
    conversations: int
    open_comments: int
    median_open_age: timedelta | None
    answered_in_period: int
    median_time_to_answer: timedelta | None
    # The period's posts' reach, summed over those whose latest snapshot states it; None when none does.
    views: int | None = None
    impressions: int | None = None
    saves: int | None = None


def latest(post: PostFact) -> SnapshotFact | None:
    """The post's most recently recorded snapshot, or None when it has none."""
    return max(post.snapshots, key=lambda s: s.recorded_at, default=None)


def is_one_way(post: PostFact, now: datetime) -> bool:
    """Whether the post had comments and no replies at the end of its first 48 hours.

    A post still inside its first 48 hours at `now` is not one-way yet: the team
    can still answer. Snapshots recorded after `now` are not known at `now`.

    The counts at the 48-hour mark come from the latest snapshot recorded at or
    before it, else the earliest one after it: replies only grow, so none then
    means none at 48 hours. A post with no snapshot is not one-way.
    """
    if now < post.shared_at + ONE_WAY_WINDOW:
        return False
    snapshot = _at_window_end(_as_of(post, now))
    return snapshot is not None and snapshot.comments > 0 and snapshot.replies == 0


def is_conversation(post: PostFact) -> bool:
    """Whether the post's latest snapshot has both comments received and replies sent."""
    snapshot = latest(post)
    return snapshot is not None and snapshot.comments > 0 and snapshot.replies > 0


def broadcast_streak(posts_of_one_owner: Iterable[PostFact], now: datetime) -> int:
    """How many of one person's most recent posts that received comments were one-way in a row.

    Newest first. Posts with no comments (as of `now`) are skipped: nobody was
    there to talk to, so they neither extend nor break the run. So is a post
    still inside its first 48 hours with no replies yet, since it may still
    become either. Anything else that is not one-way ends the run. A result of
    `STREAK_MIN` or more is a broadcast streak.
    """
    streak = 0
    for post in sorted(posts_of_one_owner, key=lambda p: p.shared_at, reverse=True):
        snapshot = latest(_as_of(post, now))
        if snapshot is None or snapshot.comments == 0:
            continue
        if is_one_way(post, now):
            streak += 1
        elif now < post.shared_at + ONE_WAY_WINDOW and snapshot.replies == 0:
            continue
        else:
            break
    return streak


def reply_rate(posts: Iterable[PostFact]) -> Rate:
    """Replies and comments summed over the posts' latest snapshots, and the share answered.

    `value` counts at most one reply per comment on each post, so it never
    exceeds 100% and one over-answered post can't hide an ignored one. None
    when the posts received no comments. Posts without a snapshot add nothing.
    """
    replies = comments = answered = 0
    for post in posts:
        snapshot = latest(post)
        if snapshot is None:
            continue
        replies += snapshot.replies
        comments += snapshot.comments
        answered += min(snapshot.replies, snapshot.comments)
    return Rate(replies=replies, comments=comments, value=answered / comments if comments else None)


def age(comment: CommentFact, now: datetime) -> timedelta:
    """How long the comment has waited at `now`: since it was written when known, else since flagged.

    Never negative, so that a clock skew between platforms can't show a comment from the future.
    """
    return max(now - _since(comment), timedelta(0))


def median_timedelta(values: Iterable[timedelta]) -> timedelta | None:
    """The median of `values` (the mean of the middle two for an even count), or None when empty."""
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def time_to_answer(comment: CommentFact) -> timedelta | None:
    """How long an answered comment waited, from written (else flagged) to answered; None otherwise.

    Clamped at zero: a comment answered before anyone flagged it waited no time.
    """
    if comment.state != "answered" or comment.answered_at is None:
        return None
    return max(comment.answered_at - _since(comment), timedelta(0))


def build_report(
    posts: Iterable[PostFact],
    comments: Iterable[CommentFact],
    *,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Report:
    """The figures for posts shared in [start, end) and comments on any of `posts`.

    - posts, comments received, replies sent, reply rate, one-way posts and
      conversations: over the posts shared in [start, end), using what was
      recorded by `now`;
    - open comments and their median age: every comment still open on any of
      `posts`, whatever the period, since an old unanswered comment still waits;
    - answered in period and median time to answer: comments on any of `posts`
      answered in [start, end).
    """
    known = [_as_of(post, now) for post in posts]
    in_period = [post for post in known if start <= post.shared_at < end]
    post_ids = {post.post_id for post in known}
    on_posts = [comment for comment in comments if comment.post_id in post_ids]

    open_comments = [c for c in on_posts if c.state == "open"]
    answered = [
        c
        for c in on_posts
        if c.state == "answered" and c.answered_at is not None and start <= c.answered_at < end
    ]
    rate = reply_rate(in_period)
    return Report(
        posts=len(in_period),
        comments_received=rate.comments,
        replies_sent=rate.replies,
        reply_rate=rate,
        one_way_posts=sum(is_one_way(post, now) for post in in_period),
        conversations=sum(is_conversation(post) for post in in_period),
        open_comments=len(open_comments),
        median_open_age=median_timedelta(age(c, now) for c in open_comments),
        answered_in_period=len(answered),
        median_time_to_answer=median_timedelta(
            wait for c in answered if (wait := time_to_answer(c)) is not None
        ),
        **{name: reach_total(in_period, name) for name in ("views", "impressions", "saves")},
    )


def reach_total(posts: Iterable[PostFact], name: str) -> int | None:
    """The sum of ``name`` (views, impressions or saves) over the posts' latest snapshots that state it,
    or None when none does."""
    stated = [
        value
        for post in posts
        if (last := latest(post)) is not None and (value := getattr(last, name)) is not None
    ]
    return sum(stated) if stated else None


# (from, unit, name): below two weeks, "10 days" says more than "1 week".
_UNITS: Sequence[tuple[timedelta, timedelta, str]] = (
    (timedelta(weeks=2), timedelta(weeks=1), "week"),
    (timedelta(days=1), timedelta(days=1), "day"),
    (timedelta(hours=1), timedelta(hours=1), "hour"),
    (timedelta(minutes=1), timedelta(minutes=1), "minute"),
)


def format_duration(td: timedelta) -> str:
    """`td` in one unit, rounded down: "45 minutes", "3 hours", "1 day", "3 days", "2 weeks".

    Days up to 13, weeks from 14 days. Anything under a minute, negative
    included, is "under a minute".
    """
    for threshold, unit, name in _UNITS:
        if td >= threshold:
            count = td // unit
            return f"{count} {name}" + ("" if count == 1 else "s")
    return "under a minute"


def _as_of(post: PostFact, now: datetime) -> PostFact:
    return replace(post, snapshots=tuple(s for s in post.snapshots if s.recorded_at <= now))


def _at_window_end(post: PostFact) -> SnapshotFact | None:
    window_end = post.shared_at + ONE_WAY_WINDOW
    before = [s for s in post.snapshots if s.recorded_at <= window_end]
    if before:
        return max(before, key=lambda s: s.recorded_at)
    return min(post.snapshots, key=lambda s: s.recorded_at, default=None)


def _since(comment: CommentFact) -> datetime:
    return comment.written_at if comment.written_at is not None else comment.flagged_at
