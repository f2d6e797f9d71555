"""What happens to the ledger when something happens in Slack: one function per act, no Slack in sight.

Each function works inside the caller's session (one unit of work per event or command) and
returns what the handler needs to answer. Times are passed in; nothing here reads a clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from bot import live
from bot.links import PostLink
from bot.metrics import (
    REPORT_DAYS,
    CommentFact,
    PostFact,
    Rate,
    Report,
    ReportPeriod,
    SnapshotFact,
    build_report,
    latest,
    reply_rate,
)
from bot.summary import Engagement
from bot.text import storable, truncate
from bot.zones import zone as iana_zone
from storage.channels import ensure_channel, get_channel, set_presence
from storage.comments import (
    claimed_comments,
    close_comment,
    comment_of_message,
    comment_of_notice,
    comment_of_nudge,
    comments_for_report,
    count_open_comments,
    flag_comment,
    get_comment,
    open_comments,
    snooze_comment,
)
from storage.messages import forget_message, forget_messages_before, keep_message, kept_message
from storage.models import Channel, Comment, Post, Snapshot
from storage.posts import (
    SharedLink,
    first_share_in,
    get_post,
    owns_posts,
    post_by_url,
    posts_of_channel_since,
    posts_of_message,
    posts_shared_between,
    record_post,
    record_share,
    unshare,
)
from storage.snapshots import add_snapshot, latest_snapshot, snapshot_at, snapshot_by_source, snapshots_of
from storage.workspace_rows import delete_channel_rows

# comments.author is a VARCHAR(255).
AUTHOR_LIMIT = 255
# How long a message someone may flag by reaction is kept, so that the flag needs no read from Slack.
# Older ones are read back, at Slack's pace, if someone flags them after all.
KEEP_MESSAGES = timedelta(days=30)
# Where a nudge that would land on a weekend goes instead: Monday at this local time.
WEEKDAY_MORNING = time(9, 0)


@dataclass(frozen=True)
class Reach:
    """The items of the ledger a request may see and act on: those of ``channels`` and, when ``owner``
    is set, only those on that person's posts.

    A command or a button in a channel reaches that channel's items (`Reach.channel`). The app's own
    places, its Home tab and its direct message, reach a person's own items in the channels they are in
    (`bot.slack_calls.channels_of`). Nothing else is in reach, so a private channel's posts, comments
    and owners never show outside it.
    """

    channels: frozenset[str]
    owner: str | None = None

    @classmethod
    def channel(cls, channel_id: str) -> Reach:
        return cls(frozenset({channel_id}))

    def covers(self, channel_id: str, post: Post) -> bool:
        """Whether an item of ``channel_id`` on ``post`` is within reach."""
        return channel_id in self.channels and self.owner in (None, post.owner_user_id)

    @property
    def home(self) -> str | None:
        """The channel a post new to the ledger is recorded in: the one a command runs in. None for the
        app's own places, which are in no channel, so that a post can't be placed from there."""
        if self.owner is not None or len(self.channels) != 1:
            return None
        return next(iter(self.channels))


@dataclass(frozen=True)
class Placed:
    """A post as a request in reach of it sees it: the channel and thread where its notices go, and
    whether the request itself just added it to the ledger."""

    post: Post
    channel_id: str
    thread_ts: str | None
    added: bool = False


def post_within(s: Session, team_id: str, reach: Reach, canonical_url: str) -> Placed | None:
    """The team's post under ``canonical_url`` if it is within reach: recorded in one of the reach's
    channels, or shared there by a message (whose thread then takes its notices); else None, as for a
    post twoway never saw."""
    post = post_by_url(s, team_id, canonical_url)
    if post is None or reach.owner not in (None, post.owner_user_id):
        return None
    if post.channel_id in reach.channels:
        return Placed(post, post.channel_id, post.message_ts)
    share = first_share_in(s, team_id, post.id, reach.channels)
    return None if share is None else Placed(post, share.channel_id, share.message_ts)


def post_within_or_added(
    s: Session,
    team_id: str,
    reach: Reach,
    link: PostLink,
    *,
    user_id: str,
    now: datetime,
    timezone: str,
) -> Placed | None:
    """The post as `post_within` finds it; a post the ledger has nowhere is added to the reach's home
    channel, owned by ``user_id`` (`Placed.added`). None when there is no home channel, or when the
    URL is a post of a channel out of reach.

    Posts are unique per workspace by canonical URL, one channel each, so the same URL can't also
    become this channel's own post. Taking it over would move another channel's post, its snapshots
    and comments here; so it is refused with the words an untracked post gets, naming neither the
    channel nor the owner. A message sharing the link in the channel brings it into reach instead.
    """
    placed = post_within(s, team_id, reach, link.canonical_url)
    if placed is not None or reach.home is None:
        return placed
    ensure_channel(s, team_id, reach.home, timezone=timezone, now=now)
    added = record_post(
        s,
        team_id,
        channel_id=reach.home,
        user_id=user_id,
        link=SharedLink(link.url, link.canonical_url, link.platform),
        recorded_at=now,
    )
    # Read back either way: a concurrent request may have added it to this very channel.
    placed = post_within(s, team_id, reach, link.canonical_url)
    return None if placed is None else Placed(placed.post, placed.channel_id, placed.thread_ts, added)


def comment_within(s: Session, team_id: str, reach: Reach, comment_id: int) -> Comment | None:
    """The team's comment ``comment_id`` if it is within reach, else None, as for no comment at all."""
    comment = get_comment(s, team_id, comment_id)
    if comment is None:
        return None
    post = get_post(s, team_id, comment.post_id)
    return comment if post is not None and reach.covers(comment.channel_id, post) else None


def post_id_within(s: Session, team_id: str, reach: Reach, post_id: int) -> Placed | None:
    """The team's post ``post_id`` as `post_within` finds it, or None when it isn't within reach."""
    post = get_post(s, team_id, post_id)
    return None if post is None else post_within(s, team_id, reach, post.canonical_url)


def recent_posts(s: Session, team_id: str, reach: Reach, *, since: datetime, limit: int) -> list[Post]:
    """The posts within reach shared since ``since``, newest first, ``limit`` at most."""
    return posts_of_channel_since(s, team_id, reach.channels, since=since, limit=limit, owner=reach.owner)


def slack_time(ts: str) -> datetime:
    """The moment a Slack message timestamp ("1712345678.123456") stands for."""
    return datetime.fromtimestamp(float(ts), UTC)


@dataclass(frozen=True)
class Shares:
    """The posts a message shares after this event, which of them are new, and which it withdrew."""

    posts: list[Post]
    new: list[Post]
    withdrawn: list[Post]


def share_links(
    s: Session,
    team_id: str,
    *,
    channel_id: str,
    message_ts: str,
    user_id: str,
    links: list[PostLink],
    now: datetime,
    timezone: str,
) -> Shares:
    """Record a message's post links (new or edited message); the posts it no longer links are withdrawn."""
    ensure_channel(s, team_id, channel_id, timezone=timezone, now=now)
    shared_at = slack_time(message_ts)
    posts: list[Post] = []
    new: list[Post] = []
    for link in links:
        post, created = record_share(
            s,
            team_id,
            channel_id=channel_id,
            message_ts=message_ts,
            user_id=user_id,
            link=SharedLink(link.url, link.canonical_url, link.platform),
            shared_at=shared_at,
        )
        posts.append(post)
        if created:
            new.append(post)
    withdrawn = unshare(s, team_id, channel_id, message_ts, keep=[p.id for p in posts], now=now)
    live.posts_withdrawn(s, team_id, [p.id for p in withdrawn], now=now)
    return Shares(posts=posts, new=new, withdrawn=withdrawn)


def channel(s: Session, team_id: str, channel_id: str, *, timezone: str, now: datetime) -> Channel:
    """The channel's row with its settings, made with the defaults the first time twoway meets it."""
    return ensure_channel(s, team_id, channel_id, timezone=timezone, now=now)


def joined(s: Session, team_id: str, channel_id: str, *, timezone: str, now: datetime) -> bool:
    """twoway is in the channel: its ledger starts, or its digests and nudges start again.

    Returns whether this is news: the channel was unknown, or twoway had left it.
    """
    known = get_channel(s, team_id, channel_id)
    was_active = known is not None and known.active
    ensure_channel(s, team_id, channel_id, timezone=timezone, now=now)
    # Only a live channel can be joined, so it is not archived either.
    set_presence(s, team_id, channel_id, member=True, archived=False, now=now)
    return not was_active


def left(s: Session, team_id: str, channel_id: str, *, now: datetime) -> Channel | None:
    """twoway was removed from the channel: its digests and nudges stop; its ledger stays."""
    return set_presence(s, team_id, channel_id, member=False, now=now)


def archived(s: Session, team_id: str, channel_id: str, *, archived: bool, now: datetime) -> Channel | None:
    """The channel was archived (digests and nudges stop) or unarchived (they start again)."""
    return set_presence(s, team_id, channel_id, archived=archived, now=now)


def forget_channel(s: Session, team_id: str, channel_id: str) -> None:
    """The channel was deleted: nothing in its ledger can be answered or shown any more."""
    delete_channel_rows(s, team_id, channel_id)


def comment_of(s: Session, team_id: str, channel_id: str, ts: str) -> Comment | None:
    """The comment a message is (the flagged message itself), or None."""
    return comment_of_message(s, team_id, channel_id, ts)


def comment_reacted_to(s: Session, team_id: str, channel_id: str, ts: str) -> Comment | None:
    """The comment a reaction on this message closes: the flagged message's, else the notice's."""
    return comment_of_message(s, team_id, channel_id, ts) or comment_of_notice(s, team_id, channel_id, ts)


def comment_twoway_wrote_about(s: Session, team_id: str, channel_id: str, ts: str) -> Comment | None:
    """The comment whose notice or nudge is this message of twoway's, or None."""
    return comment_of_notice(s, team_id, channel_id, ts) or comment_of_nudge(s, team_id, channel_id, ts)


def snooze(
    s: Session, team_id: str, reach: Reach, comment_id: int, *, until: datetime, now: datetime
) -> Comment | None:
    """Hold an open comment in reach's nudges until ``until``; None when it isn't open (or in reach)."""
    if comment_within(s, team_id, reach, comment_id) is None:
        return None
    snoozed = snooze_comment(s, team_id, comment_id, until=until)
    if snoozed is not None:
        live.comments_changed(s, team_id, [comment_id], now=now)
    return snoozed


def withdraw_message(s: Session, team_id: str, channel_id: str, message_ts: str, now: datetime) -> list[Post]:
    """A deleted message withdraws the posts only it shared; their snapshots and comments stay, and the
    messages that show those comments are drawn again."""
    withdrawn = unshare(s, team_id, channel_id, message_ts, now=now)
    live.posts_withdrawn(s, team_id, [p.id for p in withdrawn], now=now)
    return withdrawn


def thread_post(s: Session, team_id: str, channel_id: str, thread_ts: str | None) -> list[Post]:
    """The posts the thread's parent message shares (none when there is no thread)."""
    if thread_ts is None:
        return []
    return posts_of_message(s, team_id, channel_id, thread_ts)


def keep(
    s: Session,
    team_id: str,
    channel_id: str,
    message: dict[str, Any],
    *,
    shares_posts: bool,
    now: datetime,
    edited: bool = False,
) -> bool:
    """Keep a message a flag reaction may name (a reply in a tracked post's thread, or one sharing
    posts) as its event carries it; return whether it is kept. An edit gives a kept message its new
    text, and forgets one that no longer shares a post and isn't under one."""
    ts, thread_ts = str(message["ts"]), message.get("thread_ts")
    under_a_post = bool(thread_ts and thread_ts != ts and thread_post(s, team_id, channel_id, thread_ts))
    if not (shares_posts or under_a_post):
        if edited:
            forget_message(s, team_id, channel_id, ts)
        return False
    keep_message(
        s,
        team_id,
        channel_id=channel_id,
        ts=ts,
        thread_ts=thread_ts,
        user_id=message.get("user"),
        text=storable(message.get("text") or ""),
        received_at=now,
        replace=edited,
    )
    return True


def kept(s: Session, team_id: str, channel_id: str, ts: str) -> dict[str, Any] | None:
    """The kept message ``ts`` of the channel, shaped as Slack's message (ts, thread_ts, user, text)."""
    found = kept_message(s, team_id, channel_id, ts)
    if found is None:
        return None
    message: dict[str, Any] = {"type": "message", "ts": found.ts, "text": found.text}
    if found.thread_ts:
        message["thread_ts"] = found.thread_ts
    if found.user_id:
        message["user"] = found.user_id
    return message


def forget(s: Session, team_id: str, channel_id: str, ts: str) -> bool:
    """Forget a kept message deleted in Slack; return whether one was kept."""
    return forget_message(s, team_id, channel_id, ts)


def forget_old_messages(s: Session, team_id: str, now: datetime) -> int:
    """Forget the workspace's messages kept longer than KEEP_MESSAGES; return how many."""
    return forget_messages_before(s, team_id, now - KEEP_MESSAGES)


def engagement_of(snapshot: Snapshot | None) -> Engagement | None:
    if snapshot is None:
        return None
    return Engagement(
        comments=snapshot.comments_received,
        replies=snapshot.replies_sent,
        shares=snapshot.shares,
        likes=snapshot.likes,
        views=snapshot.views,
        impressions=snapshot.impressions,
        saves=snapshot.saves,
    )


@dataclass(frozen=True)
class Recorded:
    """A snapshot as recorded, with every field filled, and whether it is new."""

    post: Post
    engagement: Engagement
    created: bool
    # The snapshot as it is in the ledger (None only where a caller built one by hand).
    snapshot_id: int | None = None


def record_engagement(
    s: Session,
    team_id: str,
    post: Post,
    engagement: Engagement,
    *,
    recorded_at: datetime,
    recorded_by: str | None,
    source: Literal["thread", "command"],
    source_ref: str | None = None,
) -> Recorded:
    """Record a snapshot; counts the summary left out carry over from the post's latest snapshot."""
    merged = engagement.merged_over(engagement_of(latest_snapshot(s, team_id, post.id)))
    created = add_snapshot(
        s,
        team_id,
        post.id,
        comments_received=merged.comments or 0,
        replies_sent=merged.replies or 0,
        shares=merged.shares or 0,
        likes=merged.likes or 0,
        views=merged.views,
        impressions=merged.impressions,
        saves=merged.saves,
        recorded_at=recorded_at,
        recorded_by=recorded_by,
        source=source,
        source_ref=source_ref,
    )
    found = (
        snapshot_by_source(s, team_id, post.id, source, source_ref)
        if source_ref is not None
        else snapshot_at(s, team_id, post.id, recorded_at)
    )
    if found is not None and not created:
        merged = engagement_of(found) or merged
    return Recorded(
        post=post, engagement=merged, created=created, snapshot_id=None if found is None else found.id
    )


def first_nudge_at(start: datetime, channel: Channel) -> datetime:
    """When an open comment's owner is first nudged: the channel's threshold after ``start``.

    Unless the channel nudges on weekends, a nudge due on Saturday or Sunday (in the channel's
    time zone) waits for Monday morning.
    """
    due = start + timedelta(hours=channel.unanswered_threshold_hours)
    if channel.nudge_weekends:
        return due
    zone = iana_zone(channel.timezone)
    local = due.astimezone(zone)
    if local.weekday() < 5:
        return due
    monday = local.date() + timedelta(days=7 - local.weekday())
    return datetime.combine(monday, WEEKDAY_MORNING, zone).astimezone(due.tzinfo)


@dataclass(frozen=True)
class Flagged:
    """A flagged comment, its post and channel, whether it is new, and when its owner will be nudged."""

    comment: Comment
    post: Post
    channel: Channel
    created: bool
    nudge_at: datetime


def flag(
    s: Session,
    team_id: str,
    *,
    post: Post,
    channel_id: str,
    text: str,
    author: str | None,
    flagged_by: str,
    now: datetime,
    timezone: str,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    url: str | None = None,
) -> Flagged:
    """Record an open comment on ``post``; flagging the same message twice gives the same comment.
    ``url`` is the comment's own link, where one was given.

    Characters no database can store are dropped from ``text`` and ``author``, and ``author`` is cut
    to its column's 255 characters; the rest is kept as is.
    """
    channel = ensure_channel(s, team_id, channel_id, timezone=timezone, now=now)
    comment, created = flag_comment(
        s,
        team_id,
        post=post,
        channel_id=channel_id,
        text=storable(text),
        author=truncate(storable(author), AUTHOR_LIMIT) if author is not None else None,
        flagged_by=flagged_by,
        flagged_at=now,
        message_ts=message_ts,
        thread_ts=thread_ts,
        url=url,
    )
    start = comment.written_at or comment.flagged_at
    return Flagged(comment, post, channel, created, first_nudge_at(start, channel))


@dataclass(frozen=True)
class Closed:
    """A comment after an attempt to close it; ``changed`` is False when it was already closed."""

    comment: Comment
    post: Post
    changed: bool


def close(
    s: Session,
    team_id: str,
    reach: Reach,
    comment_id: int,
    *,
    state: Literal["answered", "dismissed"],
    by: str,
    at: datetime,
) -> Closed | None:
    """Mark the team's comment answered or dismissed; None when there is no such comment in reach."""
    if comment_within(s, team_id, reach, comment_id) is None:
        return None
    changed = close_comment(s, team_id, comment_id, state=state, by=by, at=at)
    comment = get_comment(s, team_id, comment_id)
    if comment is None:
        return None
    if changed:
        live.notice_kept(s, team_id, comment, now=at)
        live.comments_changed(s, team_id, [comment_id], now=at)
    s.refresh(comment)
    post = get_post(s, team_id, comment.post_id)
    assert post is not None, "a comment's post is never deleted while the comment exists"
    return Closed(comment, post, changed)


def post_facts(s: Session, team_id: str, posts: list[Post]) -> list[PostFact]:
    """The metrics' view of ``posts``, with every snapshot."""
    by_post: dict[int, list[SnapshotFact]] = {p.id: [] for p in posts}
    for snap in snapshots_of(s, team_id, list(by_post)):
        by_post[snap.post_id].append(
            SnapshotFact(
                snap.recorded_at,
                snap.comments_received,
                snap.replies_sent,
                snap.shares,
                snap.likes,
                views=snap.views,
                impressions=snap.impressions,
                saves=snap.saves,
                source=snap.source,
            )
        )
    return [
        PostFact(p.id, p.owner_user_id, p.platform, p.canonical_url, p.shared_at, tuple(by_post[p.id]))
        for p in posts
    ]


def comment_fact(comment: Comment, post: Post) -> CommentFact:
    return CommentFact(
        comment.id,
        comment.post_id,
        post.owner_user_id,
        comment.state,
        comment.written_at,
        comment.flagged_at,
        comment.answered_at,
    )


@dataclass(frozen=True)
class PeriodReport:
    """A report's figures and the period they cover."""

    period: ReportPeriod
    start: datetime
    end: datetime
    owner: str | None
    report: Report
    # The period's posts whose latest numbers were fetched from their network, by network.
    fetched: Mapping[str, int] = field(default_factory=dict)


def report(
    s: Session,
    team_id: str,
    *,
    channel_id: str | None,
    owner: str | None,
    period: ReportPeriod,
    now: datetime,
) -> PeriodReport:
    """Counts and rates for the posts shared in the last week or month, and the comments waiting now."""
    start = now - timedelta(days=REPORT_DAYS[period])
    posts = posts_shared_between(s, team_id, start=start, end=now, channel_id=channel_id, owner=owner)
    pairs = comments_for_report(s, team_id, since=start, channel_id=channel_id, owner=owner)
    # Open comments on older posts count too: the metrics need those posts beside the period's.
    known = {p.id for p in posts}
    for _, post in pairs:
        if post.id not in known:
            known.add(post.id)
            posts.append(post)
    facts = post_facts(s, team_id, posts)
    figures = build_report(facts, [comment_fact(c, p) for c, p in pairs], start=start, end=now, now=now)
    fetched = Counter(
        f.platform
        for f in facts
        if start <= f.shared_at < now and (last := latest(f)) is not None and last.source == "fetched"
    )
    return PeriodReport(period, start, now, owner, figures, dict(fetched))


@dataclass(frozen=True)
class Waiting:
    """Open comments, oldest first, up to a limit, and how many there are in all."""

    items: list[tuple[Comment, Post]]
    total: int


def unanswered(s: Session, team_id: str, reach: Reach, *, owner: str | None, limit: int) -> Waiting:
    """The open comments in reach, optionally on one owner's posts."""
    owner = reach.owner or owner
    channels = reach.channels
    items = open_comments(s, team_id, channel_ids=channels, owner=owner, limit=limit)
    return Waiting(items, count_open_comments(s, team_id, channel_ids=channels, owner=owner))


def has_posts(s: Session, team_id: str, user_id: str) -> bool:
    """Whether the person owns any post: only then, or when they are on a comment (`is_on_any`), may
    their Home tab show anything."""
    return owns_posts(s, team_id, user_id)


def is_on_any(s: Session, team_id: str, user_id: str) -> bool:
    """Whether the person is on any open comment."""
    return bool(claimed_comments(s, team_id, by=user_id))


@dataclass(frozen=True)
class Home:
    """What one person's Home tab shows."""

    user_id: str
    waiting: Waiting
    posts_this_week: list[Post]
    rate: Rate
    # The open comments the person is on, in the channels they are in, oldest claim first.
    on_it: list[tuple[Comment, Post]] = field(default_factory=list)


def home(s: Session, team_id: str, reach: Reach, *, now: datetime, limit: int) -> Home:
    """The viewer's open comments, their posts of the last 7 days and their reply rate over those
    posts, within ``reach`` (the viewer's own, in the channels they are in)."""
    user_id = reach.owner
    assert user_id is not None, "a Home tab is one person's"
    posts = posts_shared_between(
        s, team_id, start=now - timedelta(days=7), end=now, channel_ids=reach.channels, owner=user_id
    )
    return Home(
        user_id=user_id,
        waiting=unanswered(s, team_id, reach, owner=user_id, limit=limit),
        posts_this_week=posts,
        rate=reply_rate(post_facts(s, team_id, posts)),
        on_it=claimed_comments(s, team_id, by=user_id, channel_ids=reach.channels),
    )
