"""Rows as the watcher leaves them, written straight through the ORM: replies twoway read on Bluesky or
Mastodon (no flag, no Slack message, no notice) and numbers fetched from the network."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage.models import Comment, Post, Snapshot


def seen_comment(
    s: Session,
    post: Post,
    *,
    text: str,
    author: str,
    written_at: datetime,
    seen_at: datetime,
    network: str | None = None,
    remote_id: str | None = None,
    url: str | None = None,
    state: str = "open",
    answered_at: datetime | None = None,
    answered_by: str | None = None,
) -> Comment:
    """A reply twoway saw on ``post``'s network itself: nobody flagged it, and it has its own link."""
    network = network or post.platform
    remote_id = remote_id or f"{network}-reply-{int(written_at.timestamp())}"
    comment = Comment(
        team_id=post.team_id,
        post_id=post.id,
        channel_id=post.channel_id,
        text=text,
        author=author,
        written_at=written_at,
        state=state,
        flagged_by=None,
        flagged_at=seen_at,
        answered_by=answered_by,
        answered_at=answered_at,
        url=url or f"https://{network}.example/reply/{remote_id}",
        seen_on=network,
        remote_id=remote_id,
    )
    s.add(comment)
    s.flush()
    return comment


def fetched_snapshot(
    s: Session,
    post: Post,
    *,
    at: datetime,
    comments: int,
    replies: int,
    shares: int = 0,
    likes: int = 0,
    quotes: int | None = None,
) -> Snapshot:
    """Numbers twoway fetched from ``post``'s network at ``at``: recorded by nobody."""
    snapshot = Snapshot(
        team_id=post.team_id,
        post_id=post.id,
        comments_received=comments,
        replies_sent=replies,
        shares=shares,
        likes=likes,
        quotes=quotes,
        recorded_at=at,
        recorded_by=None,
        source="fetched",
    )
    s.add(snapshot)
    s.flush()
    return snapshot
