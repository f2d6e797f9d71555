"""The messages twoway posted about comments, and which comments each one shows.

Each function takes a session and a ``team_id`` first and filters on it. None commits.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import Comment, PostedMessage, PostedMessageComment


def remember_message(
    s: Session,
    team_id: str,
    *,
    channel_id: str,
    ts: str,
    kind: str,
    recipe: Mapping[str, Any],
    comment_ids: Collection[int],
    now: datetime,
) -> PostedMessage:
    """Record a message posted about ``comment_ids``, drawn by ``recipe``; return its row.

    Remembering a message again (a replica that found its own message after a crash, a digest drawn
    again with more comments) replaces its recipe and adds the comments it now shows.
    """
    encoded = json.dumps(dict(recipe), sort_keys=True)
    insert_ignoring_conflicts(
        s,
        PostedMessage,
        {
            "team_id": team_id,
            "channel_id": channel_id,
            "ts": ts,
            "kind": kind,
            "recipe": encoded,
            "posted_at": now,
        },
    )
    row = s.scalars(
        select(PostedMessage).where(
            PostedMessage.team_id == team_id, PostedMessage.channel_id == channel_id, PostedMessage.ts == ts
        )
    ).one()
    if row.recipe != encoded:
        row.recipe = encoded
    shown = set(
        s.scalars(
            select(PostedMessageComment.comment_id).where(
                PostedMessageComment.team_id == team_id, PostedMessageComment.message_id == row.id
            )
        )
    )
    for comment_id in sorted(set(comment_ids) - shown):
        s.add(PostedMessageComment(team_id=team_id, message_id=row.id, comment_id=comment_id))
    s.flush()
    return row


def mark_stale(s: Session, team_id: str, comment_ids: Collection[int], *, now: datetime) -> int:
    """Mark every message that shows one of ``comment_ids`` as needing to be drawn again; return how
    many were marked. A message already waiting keeps the moment it first went stale, unless a replica
    is drawing it right now: then the moment is the change's, so that the replica, which drew what the
    ledger said before it, leaves the message stale (`settle_refreshed`)."""
    if not comment_ids:
        return 0
    showing = select(PostedMessageComment.message_id).where(
        PostedMessageComment.team_id == team_id, PostedMessageComment.comment_id.in_(list(comment_ids))
    )
    return _mark(s, team_id, PostedMessage.id.in_(showing), now)


def mark_messages_stale(s: Session, team_id: str, message_ids: Collection[int], *, now: datetime) -> int:
    """Mark these messages stale, as `mark_stale` does (for a comment about to be deleted, whose
    messages can't be found by it afterwards); return how many were marked."""
    if not message_ids:
        return 0
    return _mark(s, team_id, PostedMessage.id.in_(list(message_ids)), now)


def mark_stale_for_posts(s: Session, team_id: str, post_ids: Collection[int], *, now: datetime) -> int:
    """Mark stale every message that shows a comment on one of ``post_ids``; return how many."""
    if not post_ids:
        return 0
    comments = select(Comment.id).where(Comment.team_id == team_id, Comment.post_id.in_(list(post_ids)))
    showing = select(PostedMessageComment.message_id).where(
        PostedMessageComment.team_id == team_id, PostedMessageComment.comment_id.in_(comments)
    )
    return _mark(s, team_id, PostedMessage.id.in_(showing), now)


def _mark(s: Session, team_id: str, which: Any, now: datetime) -> int:
    marked = s.execute(
        update(PostedMessage)
        .where(
            PostedMessage.team_id == team_id,
            which,
            or_(PostedMessage.stale_since.is_(None), PostedMessage.claimed_by.is_not(None)),
        )
        .values(stale_since=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(marked, "rowcount", 0) or 0)


def set_recipe(s: Session, team_id: str, message_id: int, recipe: Mapping[str, Any]) -> None:
    """Give a message a new recipe (a notice whose comment is about to go says who took it back)."""
    s.execute(
        update(PostedMessage)
        .where(PostedMessage.team_id == team_id, PostedMessage.id == message_id)
        .values(recipe=json.dumps(dict(recipe), sort_keys=True))
        .execution_options(synchronize_session=False)
    )


# Claims on stale messages. A message is held while ``claimed_by`` names a replica and its
# ``claimed_at`` is within the lease; a holder that died is taken over after it. A failed update gives
# the claim back with ``claimed_at`` moved so that the message waits out its backoff, as if held.


def stale_message_ids(
    s: Session, *, stale_before: datetime, posted_since: datetime, max_attempts: int, limit: int
) -> list[tuple[str, int]]:
    """The (team, id) of every workspace's messages waiting to be drawn again that nobody holds, with
    attempts left and posted since ``posted_since``, longest stale first, ``limit`` at most."""
    rows = s.execute(
        select(PostedMessage.team_id, PostedMessage.id)
        .where(*_claimable(stale_before, posted_since, max_attempts))
        .order_by(PostedMessage.stale_since, PostedMessage.id)
        .limit(limit)
    )
    return [(team_id, message_id) for team_id, message_id in rows]


def _claimable(stale_before: datetime, posted_since: datetime, max_attempts: int) -> list[Any]:
    return [
        PostedMessage.stale_since.is_not(None),
        PostedMessage.attempts < max_attempts,
        PostedMessage.posted_at >= posted_since,
        or_(PostedMessage.claimed_at.is_(None), PostedMessage.claimed_at < stale_before),
    ]


def claim_stale(
    s: Session,
    team_id: str,
    message_id: int,
    *,
    replica: str,
    now: datetime,
    stale_before: datetime,
    posted_since: datetime,
    max_attempts: int,
) -> PostedMessage | None:
    """Claim a stale message to draw it again, in one conditional UPDATE; return it, or None when it
    isn't stale any more, is held or waits out its backoff, is out of attempts, or another replica took
    it first. Commit before calling Slack, so that other replicas see the claim."""
    return s.scalars(
        update(PostedMessage)
        .where(
            PostedMessage.team_id == team_id,
            PostedMessage.id == message_id,
            *_claimable(stale_before, posted_since, max_attempts),
        )
        .values(claimed_at=now, claimed_by=replica, attempts=PostedMessage.attempts + 1)
        .returning(PostedMessage)
        .execution_options(synchronize_session="fetch")
    ).one_or_none()


def _held(team_id: str, message_id: int, replica: str, claimed_at: datetime) -> list[Any]:
    return [
        PostedMessage.team_id == team_id,
        PostedMessage.id == message_id,
        PostedMessage.claimed_by == replica,
        PostedMessage.claimed_at == claimed_at,
    ]


def settle_refreshed(
    s: Session,
    team_id: str,
    message_id: int,
    *,
    replica: str,
    claimed_at: datetime,
    drawn_stale_since: datetime,
    now: datetime,
) -> bool:
    """Record that the claim made at ``claimed_at`` drew the message again; return False if the claim
    was lost meanwhile. The message stays stale when a comment changed after it was claimed (its
    ``stale_since`` is no longer ``drawn_stale_since``), for another update."""
    still = PostedMessage.stale_since == drawn_stale_since
    changed = s.execute(
        update(PostedMessage)
        .where(*_held(team_id, message_id, replica, claimed_at))
        .values(
            stale_since=case((still, None), else_=PostedMessage.stale_since),
            claimed_at=None,
            claimed_by=None,
            refreshed_at=now,
            attempts=0,
            error=None,
        )
        .returning(PostedMessage.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return changed is not None


def release_failed(
    s: Session,
    team_id: str,
    message_id: int,
    *,
    replica: str,
    claimed_at: datetime,
    retry_at: datetime,
    lease: timedelta,
    error: str,
) -> bool:
    """Give back a claim whose update failed, with its error; the message is claimable again from
    ``retry_at`` (``lease`` is the claims' lease). Return False if the claim was lost meanwhile."""
    changed = s.execute(
        update(PostedMessage)
        .where(*_held(team_id, message_id, replica, claimed_at))
        .values(claimed_at=retry_at - lease, claimed_by=None, error=error)
        .returning(PostedMessage.id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return changed is not None


def forget_message(s: Session, team_id: str, message_id: int) -> None:
    """Forget a message Slack no longer has, or no longer lets twoway change."""
    s.execute(delete(PostedMessage).where(PostedMessage.team_id == team_id, PostedMessage.id == message_id))


def messages_showing(s: Session, team_id: str, comment_id: int) -> list[PostedMessage]:
    """The messages that show a comment, oldest first."""
    return list(
        s.scalars(
            select(PostedMessage)
            .join(PostedMessageComment, PostedMessageComment.message_id == PostedMessage.id)
            .where(PostedMessageComment.team_id == team_id, PostedMessageComment.comment_id == comment_id)
            .order_by(PostedMessage.posted_at, PostedMessage.id)
        )
    )


def recipe_of(message: PostedMessage) -> dict[str, Any]:
    """What a message's recipe says, as a dict."""
    decoded = json.loads(message.recipe)
    assert isinstance(decoded, dict)
    return decoded


def forget_messages_before(s: Session, before: datetime) -> int:
    """Delete every workspace's messages posted before ``before``; return how many went."""
    gone = s.execute(delete(PostedMessage).where(PostedMessage.posted_at < before))
    return int(getattr(gone, "rowcount", 0) or 0)


def messages_by_id(s: Session, team_id: str, message_ids: Collection[int]) -> list[PostedMessage]:
    """The team's messages with these ids."""
    if not message_ids:
        return []
    return list(
        s.scalars(
            select(PostedMessage)
            .where(PostedMessage.team_id == team_id, PostedMessage.id.in_(list(message_ids)))
            .order_by(PostedMessage.id)
        )
    )


def get_message(s: Session, team_id: str, message_id: int) -> PostedMessage | None:
    """The team's message with this id, or None."""
    return s.scalars(
        select(PostedMessage).where(PostedMessage.team_id == team_id, PostedMessage.id == message_id)
    ).one_or_none()
