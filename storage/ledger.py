"""Queries on the ledger itself: posts and the messages that shared them, snapshots, comments.

Each function takes a session and a ``team_id`` first and filters on it. None commits:
the caller's ``with sessions.begin()`` is the unit of work, so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, exists, func, select, union, update
from sqlalchemy.orm import Session

from storage.models import Channel, Comment, Nudge, Post, PostShare, Snapshot
from storage.queries import insert_ignoring_conflicts


@dataclass(frozen=True)
class SharedLink:
    """A post link as found in a message, already canonicalised."""

    url: str
    canonical_url: str
    platform: str


def post_by_url(s: Session, team_id: str, canonical_url: str) -> Post | None:
    """Return the team's post with this canonical URL, or None."""
    return s.scalars(
        select(Post).where(Post.team_id == team_id, Post.canonical_url == canonical_url)
    ).one_or_none()


def get_post(s: Session, team_id: str, post_id: int) -> Post | None:
    """Return the team's post with this id, or None."""
    return s.scalars(select(Post).where(Post.team_id == team_id, Post.id == post_id)).one_or_none()


def record_share(
    s: Session,
    team_id: str,
    *,
    channel_id: str,
    message_ts: str,
    user_id: str,
    link: SharedLink,
    shared_at: datetime,
) -> tuple[Post, bool]:
    """Record that a message shared a post; return the post and whether it is new to the ledger.

    The first sharer owns the post. A post withdrawn earlier is back once shared again.
    The channel must already exist (see ``ensure_channel``).
    """
    created = insert_ignoring_conflicts(
        s,
        Post,
        {
            "team_id": team_id,
            "channel_id": channel_id,
            "canonical_url": link.canonical_url,
            "url": link.url,
            "platform": link.platform,
            "owner_user_id": user_id,
            "message_ts": message_ts,
            "shared_at": shared_at,
        },
    )
    post = post_by_url(s, team_id, link.canonical_url)
    assert post is not None, "inserted or already present in this transaction"
    if post.withdrawn_at is not None:
        post.withdrawn_at = None
    insert_ignoring_conflicts(
        s,
        PostShare,
        {
            "team_id": team_id,
            "post_id": post.id,
            "channel_id": channel_id,
            "message_ts": message_ts,
            "user_id": user_id,
            "shared_at": shared_at,
        },
    )
    return post, created


def posts_of_message(s: Session, team_id: str, channel_id: str, message_ts: str) -> list[Post]:
    """Return the posts a message shared (still shared), oldest share first."""
    return list(
        s.scalars(
            select(Post)
            .join(PostShare, PostShare.post_id == Post.id)
            .where(
                PostShare.team_id == team_id,
                PostShare.channel_id == channel_id,
                PostShare.message_ts == message_ts,
                Post.team_id == team_id,
            )
            .order_by(PostShare.id)
        )
    )


def unshare(
    s: Session, team_id: str, channel_id: str, message_ts: str, *, keep: Iterable[int] = (), now: datetime
) -> list[Post]:
    """Drop a message's shares except of the posts in ``keep``; return the posts that no message shares now.

    Those posts are withdrawn, not deleted: their snapshots and comments stay as history.
    """
    keep_ids = set(keep)
    dropped = [p.id for p in posts_of_message(s, team_id, channel_id, message_ts) if p.id not in keep_ids]
    if not dropped:
        return []
    s.execute(
        delete(PostShare).where(
            PostShare.team_id == team_id,
            PostShare.channel_id == channel_id,
            PostShare.message_ts == message_ts,
            PostShare.post_id.in_(dropped),
        )
    )
    still_shared = exists().where(PostShare.team_id == team_id, PostShare.post_id == Post.id)
    orphans = list(
        s.scalars(select(Post).where(Post.team_id == team_id, Post.id.in_(dropped), ~still_shared))
    )
    for post in orphans:
        post.withdrawn_at = now
    return orphans


def latest_snapshot(s: Session, team_id: str, post_id: int) -> Snapshot | None:
    """Return the post's most recent snapshot, or None if it has none."""
    return s.scalars(
        select(Snapshot)
        .where(Snapshot.team_id == team_id, Snapshot.post_id == post_id)
        .order_by(Snapshot.recorded_at.desc())
        .limit(1)
    ).first()


def add_snapshot(
    s: Session,
    team_id: str,
    post_id: int,
    *,
    comments_received: int,
    replies_sent: int,
    shares: int,
    likes: int,
    recorded_at: datetime,
    recorded_by: str | None,
    source: str,
    source_ref: str | None = None,
) -> bool:
    """Record a snapshot; return False when it was already recorded (same time, or same source message)."""
    return insert_ignoring_conflicts(
        s,
        Snapshot,
        {
            "team_id": team_id,
            "post_id": post_id,
            "comments_received": comments_received,
            "replies_sent": replies_sent,
            "shares": shares,
            "likes": likes,
            "recorded_at": recorded_at,
            "recorded_by": recorded_by,
            "source": source,
            "source_ref": source_ref,
        },
    )


def snapshots_of(s: Session, team_id: str, post_ids: Sequence[int]) -> list[Snapshot]:
    """Return every snapshot of these posts, oldest first."""
    if not post_ids:
        return []
    return list(
        s.scalars(
            select(Snapshot)
            .where(Snapshot.team_id == team_id, Snapshot.post_id.in_(post_ids))
            .order_by(Snapshot.recorded_at)
        )
    )


def flag_comment(
    s: Session,
    team_id: str,
    *,
    post: Post,
    channel_id: str,
    text: str,
    author: str | None,
    flagged_by: str,
    flagged_at: datetime,
    message_ts: str | None = None,
    thread_ts: str | None = None,
    written_at: datetime | None = None,
) -> tuple[Comment, bool]:
    """Record an open comment on ``post``; return it and whether it is new.

    Flagging the same Slack message again returns the comment it already is.
    """
    values = {
        "team_id": team_id,
        "post_id": post.id,
        "channel_id": channel_id,
        "text": text,
        "author": author,
        "written_at": written_at,
        "state": "open",
        "flagged_by": flagged_by,
        "flagged_at": flagged_at,
        "message_ts": message_ts,
        "thread_ts": thread_ts,
    }
    if message_ts is None:
        comment = Comment(**values)
        s.add(comment)
        s.flush()
        return comment, True
    created = insert_ignoring_conflicts(s, Comment, values)
    found = comment_of_message(s, team_id, channel_id, message_ts)
    assert found is not None, "inserted or already present in this transaction"
    return found, created


# notice_ts while one replica posts the notice: only the one whose claim succeeded posts.
NOTICE_PENDING = "pending"


def claim_notice(s: Session, team_id: str, comment_id: int) -> bool:
    """Claim the posting of the comment's notice; False if it is posted or being posted already."""
    claimed = s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.notice_ts.is_(None))
        .values(notice_ts=NOTICE_PENDING)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return claimed is not None


def settle_notice(s: Session, team_id: str, comment_id: int, notice_ts: str | None) -> None:
    """Record the posted notice's ts, or give the claim back (None) when posting failed."""
    s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.notice_ts == NOTICE_PENDING)
        .values(notice_ts=notice_ts)
        .execution_options(synchronize_session="fetch")
    )


def get_comment(s: Session, team_id: str, comment_id: int) -> Comment | None:
    """Return the team's comment with this id, or None."""
    return s.scalars(
        select(Comment).where(Comment.team_id == team_id, Comment.id == comment_id)
    ).one_or_none()


def comment_of_message(s: Session, team_id: str, channel_id: str, message_ts: str) -> Comment | None:
    """Return the comment flagged on this Slack message, or None."""
    return s.scalars(
        select(Comment).where(
            Comment.team_id == team_id, Comment.channel_id == channel_id, Comment.message_ts == message_ts
        )
    ).one_or_none()


def comment_of_notice(s: Session, team_id: str, channel_id: str, notice_ts: str) -> Comment | None:
    """Return the comment whose twoway notice is this message, or None."""
    return s.scalars(
        select(Comment).where(
            Comment.team_id == team_id, Comment.channel_id == channel_id, Comment.notice_ts == notice_ts
        )
    ).first()


def close_comment(s: Session, team_id: str, comment_id: int, *, state: str, by: str, at: datetime) -> bool:
    """Mark an open comment answered or dismissed; return False if it was not open (or not the team's)."""
    if state not in ("answered", "dismissed"):
        raise ValueError(f"a comment closes as answered or dismissed, not {state!r}")
    columns = {"answered": ("answered_by", "answered_at"), "dismissed": ("dismissed_by", "dismissed_at")}[
        state
    ]
    closed = s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.state == "open")
        .values({"state": state, columns[0]: by, columns[1]: at})
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return closed is not None


def snooze_comment(s: Session, team_id: str, comment_id: int, *, until: datetime) -> Comment | None:
    """Hold an open comment's nudges until ``until``; return it, or None if it isn't open."""
    snoozed = s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.state == "open")
        .values(snoozed_until=until)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return get_comment(s, team_id, comment_id) if snoozed is not None else None


def withdraw_flag(s: Session, team_id: str, comment_id: int) -> bool:
    """Delete an open comment nothing has happened to yet (no nudge sent); return whether it was deleted."""
    nudged = exists().where(Nudge.team_id == team_id, Nudge.comment_id == Comment.id)
    deleted = s.execute(
        delete(Comment)
        .where(Comment.team_id == team_id, Comment.id == comment_id, Comment.state == "open", ~nudged)
        .returning(Comment.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return deleted is not None


def open_comments(
    s: Session,
    team_id: str,
    *,
    channel_id: str | None = None,
    owner: str | None = None,
    limit: int | None = None,
) -> list[tuple[Comment, Post]]:
    """Return open comments with their posts, oldest first (by when written, else when flagged)."""
    query = (
        select(Comment, Post)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.team_id == team_id, Post.team_id == team_id, Comment.state == "open")
        .order_by(func.coalesce(Comment.written_at, Comment.flagged_at), Comment.id)
    )
    if channel_id is not None:
        query = query.where(Comment.channel_id == channel_id)
    if owner is not None:
        query = query.where(Post.owner_user_id == owner)
    if limit is not None:
        query = query.limit(limit)
    return [(comment, post) for comment, post in s.execute(query)]


def count_open_comments(
    s: Session, team_id: str, *, channel_id: str | None = None, owner: str | None = None
) -> int:
    """Return how many comments are open, in a channel and/or on an owner's posts."""
    query = (
        select(func.count())
        .select_from(Comment)
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.team_id == team_id, Post.team_id == team_id, Comment.state == "open")
    )
    if channel_id is not None:
        query = query.where(Comment.channel_id == channel_id)
    if owner is not None:
        query = query.where(Post.owner_user_id == owner)
    return s.scalar(query) or 0


def posts_shared_between(
    s: Session,
    team_id: str,
    *,
    start: datetime,
    end: datetime,
    channel_id: str | None = None,
    owner: str | None = None,
) -> list[Post]:
    """Return posts first shared in [start, end), oldest first, withdrawn ones left out."""
    query = select(Post).where(
        Post.team_id == team_id, Post.shared_at >= start, Post.shared_at < end, Post.withdrawn_at.is_(None)
    )
    if channel_id is not None:
        query = query.where(Post.channel_id == channel_id)
    if owner is not None:
        query = query.where(Post.owner_user_id == owner)
    return list(s.scalars(query.order_by(Post.shared_at, Post.id)))


def comments_for_report(
    s: Session,
    team_id: str,
    *,
    since: datetime,
    channel_id: str | None = None,
    owner: str | None = None,
) -> list[tuple[Comment, Post]]:
    """Return every open comment and those closed since ``since``, by id, each with its post.

    Closed since means answered since, or else (no answer recorded) dismissed since. In a channel
    these are three index ranges, so that a digest reads what it reports however long the channel's
    history: one condition OR-ing them is read as one range over every comment the channel ever had.
    """
    if channel_id is None:
        closed_at = func.coalesce(Comment.answered_at, Comment.dismissed_at)
        query = (
            select(Comment, Post)
            .join(Post, Post.id == Comment.post_id)
            .where(Comment.team_id == team_id, (Comment.state == "open") | (closed_at >= since))
        )
    else:
        in_channel = (Comment.team_id == team_id, Comment.channel_id == channel_id)
        wanted = union(
            select(Comment.id).where(*in_channel, Comment.state == "open"),
            select(Comment.id).where(*in_channel, Comment.answered_at >= since),
            select(Comment.id).where(
                *in_channel, Comment.answered_at.is_(None), Comment.dismissed_at >= since
            ),
        ).subquery("wanted")
        query = (
            select(Comment, Post)
            .select_from(wanted)
            .join(Comment, Comment.id == wanted.c.id)
            .join(Post, Post.id == Comment.post_id)
            .where(Comment.team_id == team_id)
        )
    query = query.where(Post.team_id == team_id).order_by(Comment.id)
    if owner is not None:
        query = query.where(Post.owner_user_id == owner)
    return [(comment, post) for comment, post in s.execute(query)]


def update_channel_settings(
    s: Session, team_id: str, channel_id: str, changes: dict[str, object], *, now: datetime
) -> Channel | None:
    """Apply setting changes to the team's channel and return it, or None if it is unknown."""
    allowed = {
        "unanswered_threshold_hours",
        "flag_emoji",
        "resolve_emoji",
        "dismiss_emoji",
        "digest_weekday",
        "digest_minute",
        "timezone",
        "digest_enabled",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not channel settings: {sorted(unknown)}")
    channel = s.scalars(
        select(Channel).where(Channel.team_id == team_id, Channel.channel_id == channel_id)
    ).one_or_none()
    if channel is None:
        return None
    for name, value in changes.items():
        setattr(channel, name, value)
    if changes:
        channel.updated_at = now
    return channel


def recent_posts_of(
    s: Session, team_id: str, owner: str, *, channel_id: str, before: datetime, limit: int = 20
) -> list[Post]:
    """Return an owner's latest posts in a channel shared before ``before``, newest first."""
    return list(
        s.scalars(
            select(Post)
            .where(
                Post.team_id == team_id,
                Post.channel_id == channel_id,
                Post.owner_user_id == owner,
                Post.shared_at < before,
                Post.withdrawn_at.is_(None),
            )
            .order_by(Post.shared_at.desc(), Post.id.desc())
            .limit(limit)
        )
    )
