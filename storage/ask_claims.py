"""Asks for a post's missing numbers: the posts due one, and the claim that makes each asked once.

A post is asked about once, ever: ``posts.numbers_asked_at`` is the claim, taken by one conditional
UPDATE from NULL, so that of replicas racing for it exactly one sees its row come back. An ask Slack
surely refused is given back (NULL again) to be tried at a later sweep. Each function takes a session
and a ``team_id`` first and filters on it. None commits: commit a claim before posting.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from storage.models import Channel, Post, Snapshot


def _unasked_without_numbers(team_id: str) -> list[ColumnElement[bool]]:
    """The conditions on a post that may still be asked about: standing, never asked, no snapshot."""
    has_numbers = exists().where(Snapshot.team_id == team_id, Snapshot.post_id == Post.id)
    return [
        Post.team_id == team_id,
        Post.withdrawn_at.is_(None),
        Post.numbers_asked_at.is_(None),
        ~has_numbers,
    ]


def posts_due_an_ask(s: Session, team_id: str, *, shared_from: datetime, shared_by: datetime) -> list[Post]:
    """Return the team's posts first shared from ``shared_from`` to ``shared_by`` (both included)
    that are due an ask, oldest first.

    Due: still standing, shared by a message (whose thread takes the ask), never asked, with no
    snapshot, in a channel twoway is in that is not archived. The read walks each such channel's
    posts of the window on ``ix_posts_team_id_channel_id_shared_at`` and looks for a snapshot on the
    ``(team_id, post_id, recorded_at)`` unique index: its cost is the window's posts, not the ledger's.
    """
    # The channels first, then each one's window: so every planner walks the index, statistics or none.
    active = select(Channel.channel_id).where(
        Channel.team_id == team_id, Channel.bot_is_member.is_(True), Channel.is_archived.is_(False)
    )
    return list(
        s.scalars(
            select(Post)
            .where(
                Post.channel_id.in_(active),
                Post.shared_at >= shared_from,
                Post.shared_at <= shared_by,
                Post.message_ts.is_not(None),
                *_unasked_without_numbers(team_id),
            )
            .order_by(Post.shared_at, Post.id)
        )
    )


def claim_ask(s: Session, team_id: str, post_id: int, *, now: datetime) -> bool:
    """Date the post's ask ``now`` if it is still unasked, standing and without numbers; return whether
    this call did (False: another replica asked, or the post was withdrawn or given numbers since)."""
    claimed = s.execute(
        update(Post)
        .where(Post.id == post_id, *_unasked_without_numbers(team_id))
        .values(numbers_asked_at=now)
        .returning(Post.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return claimed is not None


def release_ask(s: Session, team_id: str, post_id: int, *, claimed_at: datetime) -> bool:
    """Give back the ask claimed at ``claimed_at``, so that a later sweep asks again; return whether it
    was still that claim."""
    released = s.execute(
        update(Post)
        .where(Post.team_id == team_id, Post.id == post_id, Post.numbers_asked_at == claimed_at)
        .values(numbers_asked_at=None)
        .returning(Post.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return released is not None
