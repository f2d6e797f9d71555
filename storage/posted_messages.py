"""The messages twoway posted about comments, and which comments each one shows.

Each function takes a session and a ``team_id`` first and filters on it. None commits.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import PostedMessage, PostedMessageComment


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
    many were marked. A message already waiting keeps the moment it first went stale."""
    if not comment_ids:
        return 0
    showing = select(PostedMessageComment.message_id).where(
        PostedMessageComment.team_id == team_id, PostedMessageComment.comment_id.in_(list(comment_ids))
    )
    marked = s.execute(
        update(PostedMessage)
        .where(
            PostedMessage.team_id == team_id,
            PostedMessage.id.in_(showing),
            PostedMessage.stale_since.is_(None),
        )
        .values(stale_since=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(marked, "rowcount", 0) or 0)


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
