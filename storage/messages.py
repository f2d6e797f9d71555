"""Kept messages: the channel messages a flag reaction may name, kept from their events for a while."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import KeptMessage


def keep_message(
    s: Session,
    team_id: str,
    *,
    channel_id: str,
    ts: str,
    thread_ts: str | None,
    user_id: str | None,
    text: str,
    received_at: datetime,
    replace: bool,
) -> None:
    """Keep a message; one kept already is left as it is, or with ``replace`` (an edit) given the new text.

    An edit may be handled before the message it edits; the message's own event then finds the edited
    text kept and leaves it.
    """
    inserted = insert_ignoring_conflicts(
        s,
        KeptMessage,
        {
            "team_id": team_id,
            "channel_id": channel_id,
            "ts": ts,
            "thread_ts": thread_ts,
            "user_id": user_id,
            "text": text,
            "received_at": received_at,
        },
    )
    if not inserted and replace:
        s.execute(
            update(KeptMessage)
            .where(KeptMessage.team_id == team_id, KeptMessage.channel_id == channel_id, KeptMessage.ts == ts)
            .values(thread_ts=thread_ts, user_id=user_id, text=text)
            .execution_options(synchronize_session=False)
        )


def kept_message(s: Session, team_id: str, channel_id: str, ts: str) -> KeptMessage | None:
    """Return the message kept for ``ts`` in that channel of the workspace, or None."""
    return s.scalar(
        select(KeptMessage).where(
            KeptMessage.team_id == team_id, KeptMessage.channel_id == channel_id, KeptMessage.ts == ts
        )
    )


def forget_message(s: Session, team_id: str, channel_id: str, ts: str) -> bool:
    """Delete one kept message (it was deleted in Slack); return whether one was kept."""
    deleted = s.execute(
        delete(KeptMessage)
        .where(KeptMessage.team_id == team_id, KeptMessage.channel_id == channel_id, KeptMessage.ts == ts)
        .returning(KeptMessage.id)
        .execution_options(synchronize_session=False)
    ).first()
    return deleted is not None


def forget_messages_before(s: Session, team_id: str, before: datetime) -> int:
    """Delete the workspace's messages received before ``before``; return how many."""
    deleted = s.execute(
        delete(KeptMessage)
        .where(KeptMessage.team_id == team_id, KeptMessage.received_at < before)
        .returning(KeptMessage.id)
        .execution_options(synchronize_session=False)
    ).all()
    return len(deleted)
