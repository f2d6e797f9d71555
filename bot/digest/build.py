"""The weekly digest as plain data: what is waiting, who is broadcasting, where people talked.

Pure: the composer passes `now` and the ledger's facts, nothing here reads a clock, and
`bot.digest.blocks` turns the result into Block Kit. Figures come from `bot.metrics`, so the
digest, `/twoway report` and the Home tab count the same way.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from bot.digest.period import Period
from bot.metrics import (
    STREAK_MIN,
    CommentFact,
    PostFact,
    Rate,
    SnapshotFact,
    broadcast_streak,
    is_conversation,
    is_one_way,
    latest,
    median_timedelta,
    reply_rate,
    time_to_answer,
)

WAITING_LIMIT = 10
"""Waiting comments listed with their buttons; the same cut as `/twoway unanswered`."""

CONVERSATION_LIMIT = 5
CONVERSATION_MIN_COMMENTS = 5
"""A post is held up as a conversation only with this many comments at least: 1 of 1 answered says
little, and raw reply counts would favour a busy post that left most of its comments alone."""

WEEK = timedelta(weeks=1)


@dataclass(frozen=True)
class WaitingComment:
    comment_id: int
    text: str
    author: str | None
    since: datetime  # written when known, else flagged
    platform: str
    post_url: str
    owner: str
    url: str | None = None  # the comment's own link, where one was given
    claimed_by: str | None = None  # who is on it ("I'm on it"), and since when
    claimed_at: datetime | None = None
    claimer: str = ""  # the name Slack shows for them, when known: a digest names them without a ping
    # The flagged message and twoway's notice about it, in the channel: a link to either is a way in.
    message_ts: str | None = None
    notice_ts: str | None = None
    # The network twoway read it on ("bluesky", "mastodon") for a reply nobody flagged, which has neither
    # a message nor a notice in Slack: its own ``url`` is the way in.
    seen_on: str | None = None


@dataclass(frozen=True)
class LostDigest:
    """An earlier digest of the channel that never reached it and that no retry will post."""

    period: Period
    error: str | None  # the last attempt's failure, as `bot.publish.describe_failure` put it


@dataclass(frozen=True)
class LostNudge:
    """A nudge about one of the channel's comments that could not be sent."""

    comment_id: int
    level: int
    error: str | None
    still_open: bool  # the comment is still waiting for an answer


@dataclass(frozen=True)
class Undelivered:
    """What twoway failed to get into Slack for the channel since its last posted digest."""

    digests: tuple[LostDigest, ...] = ()  # oldest period first
    nudges: tuple[LostNudge, ...] = ()  # by comment, then level

    def __bool__(self) -> bool:
        return bool(self.digests or self.nudges)


@dataclass(frozen=True)
class FoldedNudge:
    """A nudge the digest carries instead of a message of its own: whose it is (None: someone not to be
    mentioned, who takes a weekly direct message instead) and since when its comment waits."""

    owner: str | None
    since: datetime


@dataclass(frozen=True)
class WaitingFor:
    """One line of the digest's "Waiting for you" part: a person's folded nudges, counted."""

    owner: str | None
    comments: int
    oldest: timedelta


@dataclass(frozen=True)
class DigestInput:
    channel_id: str
    period: Period
    previous: Period
    posts: list[PostFact]  # shared in period (with all their snapshots)
    previous_posts: list[PostFact]  # shared in the previous period
    owner_history: dict[str, list[PostFact]]  # for each owner with a post in period: their recent posts
    waiting: list[WaitingComment]  # every open comment in the channel, any order
    answered: list[CommentFact]  # comments answered in the period or the previous one
    missed_previous: bool = False
    undelivered: Undelivered = Undelivered()
    folded: tuple[FoldedNudge, ...] = ()


@dataclass(frozen=True)
class WaitingItem:
    comment: WaitingComment
    age: timedelta


@dataclass(frozen=True)
class WaitingList:
    items: tuple[WaitingItem, ...]  # oldest first, at most WAITING_LIMIT
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.items)


@dataclass(frozen=True)
class PostLine:
    """A post as the digest names it, with its latest counts."""

    post_id: int
    owner: str
    platform: str
    url: str
    shared_at: datetime
    comments: int
    replies: int
    # When the counts were fetched from the post's network, where they were; None for typed ones.
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class Streak:
    """A broadcast streak: the owner's last `posts` posts with comments were all one-way."""

    posts: int
    comments: int
    replies: int  # sent on those posts after their first 48 hours


@dataclass(frozen=True)
class Broadcaster:
    owner: str
    one_way: tuple[PostLine, ...]  # this period's one-way posts, oldest first
    streak: Streak | None
    # The oldest comment waiting on any of the owner's posts in the channel: the next act.
    oldest: WaitingComment | None = None
    # Where "Open the oldest comment" leads: its own link, or its message in Slack (the composer asks).
    oldest_link: str | None = None

    @property
    def comments(self) -> int:
        return sum(post.comments for post in self.one_way)

    @property
    def replies(self) -> int:
        return sum(post.replies for post in self.one_way)


@dataclass(frozen=True)
class Counts:
    """One period's figures. Replies sent and comments received are `rate.replies` and `rate.comments`."""

    posts: int
    rate: Rate
    answered: int
    median_time_to_answer: timedelta | None
    # The posts whose latest counts were fetched from their network: how many, from which networks
    # (sorted), and the latest fetch among them.
    fetched: int = 0
    fetched_from: tuple[str, ...] = ()
    fetched_at: datetime | None = None


@dataclass(frozen=True)
class Digest:
    channel_id: str
    period: Period
    previous: Period
    missed_previous: bool
    waiting: WaitingList
    broadcasters: tuple[Broadcaster, ...]  # see `order_broadcasters`
    conversations: tuple[PostLine, ...]  # largest share answered first, at most CONVERSATION_LIMIT
    counts: Counts
    previous_counts: Counts
    quiet: bool  # no posts, nothing waiting, nothing answered: say so in a line
    undelivered: Undelivered = Undelivered()  # reported whatever else the week holds
    # The period's posts with no numbers (no snapshot by `now`), oldest first: neither one-way nor a
    # conversation can be told of them.
    missing: tuple[PostLine, ...] = ()
    # People's names as Slack lists them, by user id, filled in by the composer: the one-way section names
    # people without pinging them. Someone missing here is named neutrally.
    names: Mapping[str, str] = field(default_factory=dict)
    # When the digest was built: before the period's end, it tells the week so far.
    as_of: datetime | None = None
    # The nudges due about now that the digest carries, one line per person, longest wait first.
    waiting_for: tuple[WaitingFor, ...] = ()

    def unjudged(self) -> tuple[tuple[str, int], ...]:
        """Each owner with posts of the period that have no numbers, and how many: most first."""
        counted = Counter(post.owner for post in self.missing)
        return tuple(sorted(counted.items(), key=lambda pair: (-pair[1], pair[0])))


def build_digest(data: DigestInput, now: datetime) -> Digest:
    """What the digest for `data.period` says at `now`.

    Posts count when shared in [start, end) of their period, with the snapshots recorded by
    `now` (both periods judged on what is known today, since engagement is often logged
    late). Waiting comments are every open one, however old.
    """
    posts = _known([p for p in data.posts if p.shared_at in data.period], now)
    previous_posts = _known([p for p in data.previous_posts if p.shared_at in data.previous], now)
    waiting = _waiting(data.waiting, now)
    counts = _counts(posts, data.answered, data.period)
    return Digest(
        channel_id=data.channel_id,
        period=data.period,
        previous=data.previous,
        missed_previous=data.missed_previous,
        waiting=waiting,
        broadcasters=_broadcasters(posts, data.owner_history, data.waiting, now),
        conversations=_conversations(posts),
        counts=counts,
        previous_counts=_counts(previous_posts, data.answered, data.previous),
        quiet=counts.posts == 0 and waiting.total == 0 and counts.answered == 0,
        undelivered=Undelivered(
            digests=tuple(sorted(data.undelivered.digests, key=lambda d: (d.period.end, d.period.start))),
            nudges=tuple(sorted(data.undelivered.nudges, key=lambda n: (n.comment_id, n.level))),
        ),
        missing=_missing(posts),
        as_of=now,
        waiting_for=_waiting_for(data.folded, now),
    )


def _waiting_for(folded: tuple[FoldedNudge, ...], now: datetime) -> tuple[WaitingFor, ...]:
    oldest: dict[str | None, datetime] = {}
    counted: Counter[str | None] = Counter()
    for nudge in folded:
        counted[nudge.owner] += 1
        oldest[nudge.owner] = min(oldest.get(nudge.owner, nudge.since), nudge.since)
    lines = [WaitingFor(owner, n, max(now - oldest[owner], timedelta(0))) for owner, n in counted.items()]
    return tuple(sorted(lines, key=lambda w: (-w.oldest, w.owner or "")))


def _missing(posts: list[PostFact]) -> tuple[PostLine, ...]:
    return tuple(_line(p) for p in sorted(posts, key=lambda p: (p.shared_at, p.post_id)) if not p.snapshots)


def _known(posts: list[PostFact], now: datetime) -> list[PostFact]:
    # The rate and conversation checks read the latest snapshot; one recorded after `now`
    # (a preview of a past week) wasn't known then.
    return [replace(p, snapshots=tuple(s for s in p.snapshots if s.recorded_at <= now)) for p in posts]


def _waiting(comments: list[WaitingComment], now: datetime) -> WaitingList:
    oldest_first = sorted(comments, key=lambda c: (c.since, c.comment_id))
    items = tuple(WaitingItem(c, max(now - c.since, timedelta(0))) for c in oldest_first[:WAITING_LIMIT])
    return WaitingList(items=items, total=len(comments))


def _fetched(snapshot: SnapshotFact | None) -> datetime | None:
    return snapshot.recorded_at if snapshot is not None and snapshot.source == "fetched" else None


def _line(post: PostFact) -> PostLine:
    # The latest snapshot counts, typed or fetched alike: whichever was recorded last.
    snapshot = latest(post)
    return PostLine(
        post_id=post.post_id,
        owner=post.owner,
        platform=post.platform,
        url=post.url,
        shared_at=post.shared_at,
        comments=snapshot.comments if snapshot else 0,
        replies=snapshot.replies if snapshot else 0,
        fetched_at=_fetched(snapshot),
    )


def _streak(history: list[PostFact], now: datetime) -> Streak | None:
    length = broadcast_streak(history, now)
    if length < STREAK_MIN:
        return None
    # The streak is the newest `length` one-way posts: until the run breaks, every post that
    # isn't skipped is one-way. Sorted as broadcast_streak sorts, so ties fall the same way.
    newest_first = sorted(history, key=lambda p: p.shared_at, reverse=True)
    run = [_line(p) for p in newest_first if is_one_way(p, now)][:length]
    return Streak(posts=length, comments=sum(p.comments for p in run), replies=sum(p.replies for p in run))


def _broadcasters(
    posts: list[PostFact],
    owner_history: dict[str, list[PostFact]],
    waiting: list[WaitingComment],
    now: datetime,
) -> tuple[Broadcaster, ...]:
    by_owner: defaultdict[str, list[PostFact]] = defaultdict(list)
    for post in posts:
        by_owner[post.owner].append(post)
    oldest: dict[str, WaitingComment] = {}
    for comment in sorted(waiting, key=lambda c: (c.since, c.comment_id), reverse=True):
        oldest[comment.owner] = comment
    found = []
    for owner, own in by_owner.items():
        # The history may or may not include this period's posts; each post counts once.
        history = list({p.post_id: p for p in [*owner_history.get(owner, []), *own]}.values())
        streak = _streak(_known(history, now), now)
        one_way = tuple(_line(p) for p in sorted(own, key=lambda p: p.shared_at) if is_one_way(p, now))
        if one_way or streak:
            found.append(Broadcaster(owner=owner, one_way=one_way, streak=streak, oldest=oldest.get(owner)))
    return order_broadcasters(found)


def order_broadcasters(
    broadcasters: Iterable[Broadcaster], names: Mapping[str, str] | None = None
) -> tuple[Broadcaster, ...]:
    """Whoever has the comment that has waited longest first, then those with none waiting, by name.

    Never by the length of a streak: the order follows the audience's wait, which is what the next act
    answers, not a score of the person. The name (in ``names``, once the composer has them) or else the
    id breaks ties.
    """
    names = names or {}

    def key(b: Broadcaster) -> tuple[bool, datetime, int, str, str]:
        since = b.oldest.since if b.oldest else datetime.max.replace(tzinfo=UTC)
        comment_id = b.oldest.comment_id if b.oldest else 0
        return (b.oldest is None, since, comment_id, names.get(b.owner, "").casefold(), b.owner)

    return tuple(sorted(broadcasters, key=key))


def _conversations(posts: list[PostFact]) -> tuple[PostLine, ...]:
    lines = [
        line for p in posts if is_conversation(p) and (line := _line(p)).comments >= CONVERSATION_MIN_COMMENTS
    ]
    # By the share of comments answered (replies / comments, capped at 1, as reply_rate counts them),
    # so 4 replies to 31 comments ranks below 9 to 10; among equal shares, more comments first.
    lines.sort(key=lambda p: (-answered_share(p), -p.comments, p.shared_at, p.post_id))
    return tuple(lines[:CONVERSATION_LIMIT])


def answered_share(line: PostLine) -> float:
    """The share of the post's comments that got a reply, never above 1."""
    return min(line.replies, line.comments) / line.comments if line.comments else 0.0


def _counts(posts: list[PostFact], answered: list[CommentFact], period: Period) -> Counts:
    waits = [
        wait
        for c in answered
        if c.answered_at is not None and c.answered_at in period and (wait := time_to_answer(c)) is not None
    ]
    fetched = [(post.platform, at) for post in posts if (at := _fetched(latest(post))) is not None]
    return Counts(
        posts=len(posts),
        rate=reply_rate(posts),
        answered=len(waits),
        median_time_to_answer=median_timedelta(waits),
        fetched=len(fetched),
        fetched_from=tuple(sorted({platform for platform, _ in fetched})),
        fetched_at=max((at for _, at in fetched), default=None),
    )
