"""Messages that stay true: what twoway posted about comments is remembered, and marked stale when one
of its comments changes (answered, dismissed, claimed, snoozed, withdrawn), in the same transaction as
the change, so that no change is missed however it came (a click, a command, a reaction).

``remember`` is called once a notice, nudge, digest or direct message is in Slack; ``comments_changed``
by every act that changes a comment. Drawing stale messages again with ``chat.update`` is the
refresher's job.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from storage.posted_messages import mark_stale, remember_message

MessageKind = Literal["notice", "nudge", "digest", "dm"]

# A message is kept up to date for this long after it was posted; an older one is left as it is.
KEEP_POSTED = timedelta(days=30)


def remember(
    s: Session,
    team_id: str,
    *,
    channel_id: str,
    ts: str,
    kind: MessageKind,
    recipe: Mapping[str, Any],
    comment_ids: Collection[int],
    now: datetime,
) -> None:
    """Remember a message twoway posted in Slack about ``comment_ids``, and how to draw it again."""
    remember_message(
        s,
        team_id,
        channel_id=channel_id,
        ts=ts,
        kind=kind,
        recipe=recipe,
        comment_ids=comment_ids,
        now=now,
    )


def comments_changed(s: Session, team_id: str, comment_ids: Collection[int], *, now: datetime) -> int:
    """Mark the messages that show ``comment_ids`` stale; return how many were marked."""
    return mark_stale(s, team_id, comment_ids, now=now)
