"""Bulk reads and writes behind `twoway export` and `twoway import`.

Exports stream rows as plain dicts keyed by column name, so the caller can write them
without holding ORM objects for a whole table. Each function takes a session and a ``team_id``
first and filters on it (``storage.channels.all_team_ids`` lists the teams to export). None
commits: the caller chooses how many rows make one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Executable, select
from sqlalchemy.orm import Session

from storage.channels import ensure_channel
from storage.db import insert_ignoring_conflicts
from storage.models import Comment, Post, Snapshot
from storage.snapshots import add_snapshot

# Rows fetched per round trip while streaming an export.
EXPORT_CHUNK = 1_000


class BeforeItsPost(ValueError):
    """An imported snapshot is dated before the existing post it is of was shared."""

    def __init__(self, recorded_at: datetime, shared_at: datetime) -> None:
        super().__init__(
            f"recorded_at {recorded_at.isoformat()} is before its post was shared "
            f"({shared_at.isoformat()}, as twoway already has it)"
        )


@dataclass(frozen=True)
class SnapshotRow:
    """One snapshot to import, already validated, with what its post needs if it is new."""

    team_id: str
    channel_id: str
    url: str
    canonical_url: str
    platform: str
    owner_user_id: str
    post_shared_at: datetime
    recorded_at: datetime
    comments_received: int
    replies_sent: int
    shares: int
    likes: int
    recorded_by: str | None
    source: str | None
    quotes: int | None = None


def export_posts(s: Session, team_id: str, channel_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the team's posts (in one channel, if given) as dicts, oldest id first."""
    query = select(
        Post.team_id,
        Post.channel_id,
        Post.id.label("post_id"),
        Post.canonical_url,
        Post.url,
        Post.platform,
        Post.owner_user_id,
        Post.shared_at,
        Post.withdrawn_at,
    ).where(Post.team_id == team_id)
    if channel_id is not None:
        query = query.where(Post.channel_id == channel_id)
    return _stream(s, query.order_by(Post.id))


def export_snapshots(s: Session, team_id: str, channel_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the team's snapshots (in one channel, if given) with their posts' fields, oldest id first."""
    query = (
        select(
            Snapshot.team_id,
            Post.channel_id,
            Post.canonical_url.label("post_url"),
            Post.platform,
            Post.owner_user_id,
            Post.shared_at.label("post_shared_at"),
            Snapshot.recorded_at,
            Snapshot.comments_received,
            Snapshot.replies_sent,
            Snapshot.shares,
            Snapshot.likes,
            Snapshot.recorded_by,
            Snapshot.source,
            Snapshot.quotes,
        )
        .join(Post, Post.id == Snapshot.post_id)
        .where(Snapshot.team_id == team_id, Post.team_id == team_id)
    )
    if channel_id is not None:
        query = query.where(Post.channel_id == channel_id)
    return _stream(s, query.order_by(Snapshot.id))


def export_comments(s: Session, team_id: str, channel_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the team's comments (in one channel, if given) with their post's URL and owner, oldest first."""
    query = (
        select(
            Comment.team_id,
            Comment.channel_id,
            Comment.id.label("comment_id"),
            Post.canonical_url.label("post_url"),
            Post.owner_user_id,
            Comment.state,
            Comment.text,
            Comment.author,
            Comment.written_at,
            Comment.flagged_by,
            Comment.flagged_at,
            Comment.answered_by,
            Comment.answered_at,
            Comment.dismissed_by,
            Comment.dismissed_at,
            Comment.seen_on,
            Comment.remote_id,
            Comment.url,
        )
        .join(Post, Post.id == Comment.post_id)
        .where(Comment.team_id == team_id, Post.team_id == team_id)
    )
    if channel_id is not None:
        query = query.where(Comment.channel_id == channel_id)
    return _stream(s, query.order_by(Comment.id))


def _stream(s: Session, query: Executable) -> Iterator[dict[str, Any]]:
    """Yield the query's rows as dicts, fetched ``EXPORT_CHUNK`` at a time."""
    for row in s.execute(query.execution_options(yield_per=EXPORT_CHUNK)):
        yield row._asdict()


def import_snapshot(
    s: Session,
    team_id: str,
    row: SnapshotRow,
    *,
    now: datetime,
    known_posts: MutableMapping[tuple[str, str], tuple[int, datetime]] | None = None,
) -> bool:
    """Record an imported snapshot, creating its channel and post if they are new.

    Return False when the post already has a snapshot at ``row.recorded_at``, which is
    what makes importing the same file twice add nothing. An existing post keeps its
    channel, owner and share time; a snapshot dated before that time raises ``BeforeItsPost``.
    ``now`` stamps a newly created channel.

    ``known_posts`` maps (team, canonical URL) to the id and share time of posts that exist; it is read
    and filled in so that a long file costs one INSERT per row rather than five. Clear it
    when a transaction or savepoint this call ran in is rolled back, since it may name a
    post that is gone.
    """
    if row.team_id != team_id:
        raise ValueError(f"row of team {row.team_id} imported into team {team_id}")
    key = (team_id, row.canonical_url)
    known = known_posts.get(key) if known_posts is not None else None
    if known is None:
        known = _ensure_post(s, team_id, row, now=now)
        if known_posts is not None:
            known_posts[key] = known
    post_id, shared_at = known
    if row.recorded_at < shared_at:
        raise BeforeItsPost(row.recorded_at, shared_at)
    return add_snapshot(
        s,
        team_id,
        post_id,
        comments_received=row.comments_received,
        replies_sent=row.replies_sent,
        shares=row.shares,
        likes=row.likes,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        source=row.source or "import",
        quotes=row.quotes,
    )


def _ensure_post(s: Session, team_id: str, row: SnapshotRow, *, now: datetime) -> tuple[int, datetime]:
    """Return the id and share time of the row's post, creating it, and its channel, if they are new."""
    ensure_channel(s, team_id, row.channel_id, now=now)
    insert_ignoring_conflicts(
        s,
        Post,
        {
            "team_id": team_id,
            "channel_id": row.channel_id,
            "canonical_url": row.canonical_url,
            "url": row.url,
            "platform": row.platform,
            "owner_user_id": row.owner_user_id,
            "message_ts": None,
            "shared_at": row.post_shared_at,
        },
    )
    post = s.execute(
        select(Post.id, Post.shared_at).where(
            Post.team_id == team_id, Post.canonical_url == row.canonical_url
        )
    ).one_or_none()
    assert post is not None, "inserted or already present in this transaction"
    return post.id, post.shared_at
