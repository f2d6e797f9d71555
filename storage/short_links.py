"""Posts recorded under a short link, and what happens once it is known where the link leads.

A short link (lnkd.in, vm.tiktok.com, t.co…) is recorded as a post of its own when shared. Once
resolved, it either becomes the post it leads to, already in the ledger (``merge_post``), or takes
that post's URL (``rewrite_post``). Each function takes a session and a ``team_id`` first and filters
on it; none commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import Comment, Post, PostShare, Snapshot


def posts_to_resolve(
    s: Session, team_id: str, prefixes: Iterable[str], *, max_attempts: int, limit: int
) -> list[Post]:
    """The team's posts whose canonical URL starts with one of ``prefixes``, tried fewer than
    ``max_attempts`` times, least recently checked first (never checked before all)."""
    starts = [Post.canonical_url.startswith(prefix, autoescape=True) for prefix in prefixes]
    if not starts:
        return []
    return list(
        s.scalars(
            select(Post)
            .where(Post.team_id == team_id, Post.link_attempts < max_attempts, or_(*starts))
            .order_by(Post.link_checked_at.is_not(None), Post.link_checked_at, Post.id)
            .limit(limit)
        )
    )


def post_urls_after(s: Session, team_id: str, after_id: int, limit: int) -> list[tuple[int, str]]:
    """The ids and canonical URLs of the team's posts with an id above ``after_id``, by id, ``limit``
    at most."""
    rows = s.execute(
        select(Post.id, Post.canonical_url)
        .where(Post.team_id == team_id, Post.id > after_id)
        .order_by(Post.id)
        .limit(limit)
    )
    return [(row.id, row.canonical_url) for row in rows]


def lock_post(s: Session, team_id: str, post_id: int) -> Post | None:
    """The team's post with this id, read afresh and locked until the transaction ends (on
    PostgreSQL; SQLite's transactions write one at a time anyway), or None when it is gone."""
    return s.scalars(
        select(Post)
        .where(Post.team_id == team_id, Post.id == post_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def note_link_attempt(s: Session, team_id: str, post_id: int, *, at: datetime, attempts: int) -> None:
    """Record that resolving the post's link failed for the ``attempts``-th time, at ``at``."""
    s.execute(
        update(Post)
        .where(Post.team_id == team_id, Post.id == post_id)
        .values(link_attempts=attempts, link_checked_at=at)
    )


def rewrite_post(
    s: Session, post: Post, *, canonical_url: str, url: str | None, platform: str, at: datetime
) -> None:
    """Give ``post`` the canonical URL its link leads to (no other post of the team has it), and
    ``url`` as its link unless None."""
    post.canonical_url = canonical_url
    if url is not None:
        post.url = url
    post.platform = platform
    post.link_checked_at = at
    s.flush()


def merge_post(s: Session, source: Post, target: Post) -> None:
    """Move everything recorded on ``source`` onto ``target``, the same post, then delete ``source``.

    Shares, snapshots and comments move; a share of the same message, or a snapshot of the same
    summary message or import row, is already on ``target`` and is not doubled. A snapshot recorded
    at the very instant of one of ``target``'s keeps its counts a microsecond later. The post that was
    shared first gives the merged one its owner and first share.
    """
    team_id = source.team_id
    assert target.team_id == team_id, "a post is one per workspace"
    shares = s.scalars(select(PostShare).where(PostShare.team_id == team_id, PostShare.post_id == source.id))
    for share in list(shares):
        insert_ignoring_conflicts(
            s,
            PostShare,
            {
                "team_id": team_id,
                "post_id": target.id,
                "channel_id": share.channel_id,
                "message_ts": share.message_ts,
                "user_id": share.user_id,
                "shared_at": share.shared_at,
            },
        )
    s.execute(delete(PostShare).where(PostShare.team_id == team_id, PostShare.post_id == source.id))

    kept = s.execute(
        select(Snapshot.recorded_at, Snapshot.source, Snapshot.source_ref).where(
            Snapshot.team_id == team_id, Snapshot.post_id == target.id
        )
    ).all()
    times = {row.recorded_at for row in kept}
    refs = {(row.source, row.source_ref) for row in kept if row.source_ref is not None}
    for snapshot in list(
        s.scalars(select(Snapshot).where(Snapshot.team_id == team_id, Snapshot.post_id == source.id))
    ):
        if snapshot.source_ref is not None and (snapshot.source, snapshot.source_ref) in refs:
            s.delete(snapshot)
            continue
        while snapshot.recorded_at in times:
            snapshot.recorded_at += timedelta(microseconds=1)
        times.add(snapshot.recorded_at)
        snapshot.post_id = target.id
    s.execute(
        update(Comment)
        .where(Comment.team_id == team_id, Comment.post_id == source.id)
        .values(post_id=target.id)
    )
    if source.shared_at < target.shared_at:
        target.owner_user_id = source.owner_user_id
        target.channel_id = source.channel_id
        target.message_ts = source.message_ts
        target.shared_at = source.shared_at
    if target.withdrawn_at is not None and source.withdrawn_at is None:
        target.withdrawn_at = None
    s.flush()
    s.execute(delete(Post).where(Post.team_id == team_id, Post.id == source.id))
    s.expunge(source)
