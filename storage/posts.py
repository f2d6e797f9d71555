"""Posts and the Slack messages that shared them.

A post is one published item per workspace, by canonical URL; each message that shares it is a
``post_shares`` row, and a post no message shares any more is withdrawn, its history kept. Each
function takes a session and a ``team_id`` first and filters on it. None commits: the caller's
``with sessions.begin()`` is the unit of work, so nothing is half-written.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BindParameter, Exists, and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import Comment, Post, PostShare, Snapshot


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


def owns_posts(s: Session, team_id: str, owner: str) -> bool:
    """Return whether ``owner`` owns any of the team's posts."""
    return s.scalar(select(exists().where(Post.team_id == team_id, Post.owner_user_id == owner))) or False


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
    created = _insert_post(s, team_id, channel_id, user_id, link, message_ts, shared_at)
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


def record_post(
    s: Session,
    team_id: str,
    *,
    channel_id: str,
    user_id: str,
    link: SharedLink,
    recorded_at: datetime,
) -> bool:
    """Record a post no message shares, in ``channel_id``, owned by ``user_id``; return whether it is new.

    A post is one per workspace by canonical URL (``posts`` is unique on team_id and canonical_url), so
    a URL the ledger already has, in whichever channel, is left as it is. The post has no share row and
    no message_ts, like one loaded by `twoway import`; a message sharing it later adds its share. The
    channel must already exist (see ``ensure_channel``).
    """
    return _insert_post(s, team_id, channel_id, user_id, link, None, recorded_at)


def _insert_post(
    s: Session,
    team_id: str,
    channel_id: str,
    user_id: str,
    link: SharedLink,
    message_ts: str | None,
    shared_at: datetime,
) -> bool:
    """Insert the post unless the workspace has its URL already; return whether it was inserted."""
    values = {
        "team_id": team_id,
        "channel_id": channel_id,
        "canonical_url": link.canonical_url,
        "url": link.url,
        "platform": link.platform,
        "owner_user_id": user_id,
        "message_ts": message_ts,
        "shared_at": shared_at,
    }
    return insert_ignoring_conflicts(s, Post, values)


def sharing(
    team_id: str | BindParameter[str],
    channel_id: str | BindParameter[str],
    message_ts: str | BindParameter[str],
) -> Exists:
    """The condition that the channel's message ``message_ts`` shares a post."""
    return exists().where(
        PostShare.team_id == team_id,
        PostShare.channel_id == channel_id,
        PostShare.message_ts == message_ts,
    )


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


def first_share_in(s: Session, team_id: str, post_id: int, channel_ids: Collection[str]) -> PostShare | None:
    """Return the earliest message in one of ``channel_ids`` that shares the post (still shared), or None."""
    return s.scalars(
        select(PostShare)
        .where(
            PostShare.team_id == team_id,
            PostShare.post_id == post_id,
            PostShare.channel_id.in_(list(channel_ids)),
        )
        .order_by(PostShare.shared_at, PostShare.id)
        .limit(1)
    ).first()


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


def posts_shared_between(
    s: Session,
    team_id: str,
    *,
    start: datetime,
    end: datetime,
    channel_id: str | None = None,
    channel_ids: Collection[str] | None = None,
    owner: str | None = None,
) -> list[Post]:
    """Return posts first shared in [start, end) (in a channel, or in one of ``channel_ids``), oldest
    first, withdrawn ones left out."""
    query = select(Post).where(
        Post.team_id == team_id, Post.shared_at >= start, Post.shared_at < end, Post.withdrawn_at.is_(None)
    )
    if channel_id is not None:
        query = query.where(Post.channel_id == channel_id)
    if channel_ids is not None:
        query = query.where(Post.channel_id.in_(list(channel_ids)))
    if owner is not None:
        query = query.where(Post.owner_user_id == owner)
    return list(s.scalars(query.order_by(Post.shared_at, Post.id)))


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


def records_of(s: Session, team_id: str, post_id: int) -> tuple[int, int]:
    """Return how many snapshots and how many comments the ledger has for the team's post."""
    snapshots = s.scalar(
        select(func.count())
        .select_from(Snapshot)
        .where(Snapshot.team_id == team_id, Snapshot.post_id == post_id)
    )
    comments = s.scalar(
        select(func.count())
        .select_from(Comment)
        .where(Comment.team_id == team_id, Comment.post_id == post_id)
    )
    return snapshots or 0, comments or 0


def delete_post(s: Session, team_id: str, post_id: int) -> list[tuple[str, str]]:
    """Delete the team's post and its shares; return the ``(channel_id, message_ts)`` of the messages that
    shared it. Its snapshots and comments would go too (ON DELETE CASCADE): check `records_of` first."""
    shares = s.execute(
        delete(PostShare)
        .where(PostShare.team_id == team_id, PostShare.post_id == post_id)
        .returning(PostShare.channel_id, PostShare.message_ts)
    )
    messages = sorted({(channel_id, message_ts) for channel_id, message_ts in shares})
    s.execute(delete(Post).where(Post.team_id == team_id, Post.id == post_id))
    return messages


def shares_of_post(s: Session, team_id: str, post_id: int) -> list[tuple[str, str]]:
    """Return the ``(channel_id, message_ts)`` of the messages that share the team's post."""
    rows = s.execute(
        select(PostShare.channel_id, PostShare.message_ts).where(
            PostShare.team_id == team_id, PostShare.post_id == post_id
        )
    )
    return [(channel_id, message_ts) for channel_id, message_ts in rows]


def posts_of_channel_since(
    s: Session,
    team_id: str,
    channel_ids: Collection[str],
    *,
    since: datetime,
    limit: int,
    owner: str | None = None,
) -> list[Post]:
    """Return the posts of ``channel_ids`` (recorded there, or shared there by a message) first shared or
    shared there since ``since``, newest first, withdrawn ones left out, ``limit`` at most."""
    channels = list(channel_ids)
    shared_here = select(PostShare.post_id).where(
        PostShare.team_id == team_id, PostShare.channel_id.in_(channels), PostShare.shared_at >= since
    )
    query = select(Post).where(
        Post.team_id == team_id,
        Post.withdrawn_at.is_(None),
        or_(and_(Post.channel_id.in_(channels), Post.shared_at >= since), Post.id.in_(shared_here)),
    )
    if owner is not None:
        query = query.where(Post.owner_user_id == owner)
    return list(s.scalars(query.order_by(Post.shared_at.desc(), Post.id.desc()).limit(limit)))
