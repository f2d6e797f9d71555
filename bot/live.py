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

from bot.deps import Deps
from storage.comments import NOTICE_PENDING
from storage.models import Comment
from storage.posted_messages import (
    mark_messages_stale,
    mark_stale,
    mark_stale_for_posts,
    messages_by_id,
    messages_showing,
    recipe_of,
    remember_message,
    set_recipe,
)

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


def posts_withdrawn(s: Session, team_id: str, post_ids: Collection[int], *, now: datetime) -> int:
    """Mark stale the messages that show a comment on one of ``post_ids``, which left the ledger's
    reports; return how many were marked."""
    return mark_stale_for_posts(s, team_id, post_ids, now=now)


def showing(s: Session, team_id: str, comment_id: int) -> list[int]:
    """The messages that show a comment, to mark them once it is gone (`flag_withdrawn`)."""
    return [m.id for m in messages_showing(s, team_id, comment_id)]


def flag_withdrawn(
    s: Session, team_id: str, comment_id: int, message_ids: Collection[int], *, by: str, now: datetime
) -> int:
    """A comment's flag was taken back and the comment deleted: its notice says who took it back, and
    every message that showed it (``message_ids``, found before it went) is marked stale."""
    for message in messages_by_id(s, team_id, message_ids):
        if message.kind == "notice":
            set_recipe(s, team_id, message.id, {**recipe_of(message), "withdrawn_by": by})
    return mark_messages_stale(s, team_id, message_ids, now=now)


def notice_posted(
    s: Session, team_id: str, comment_id: int, channel_id: str, ts: str, *, now: datetime
) -> None:
    """Remember a comment's notice in its thread, drawn again from the comment alone."""
    remember(
        s,
        team_id,
        channel_id=channel_id,
        ts=ts,
        kind="notice",
        recipe={"comment": comment_id},
        comment_ids=[comment_id],
        now=now,
    )


def notice_kept(s: Session, team_id: str, comment: Comment, *, now: datetime) -> None:
    """Remember the comment's notice if it is in Slack (one posted before twoway remembered notices is
    remembered when its comment changes), so that the change draws it again."""
    if comment.notice_ts and comment.notice_ts != NOTICE_PENDING:
        notice_posted(s, team_id, comment.id, comment.channel_id, comment.notice_ts, now=now)


def refresh_soon(deps: Deps) -> None:
    """Have the messages a change made stale drawn again now, rather than at the refresher's next turn
    (`bot.refresh`); it returns at once, the job running on the scheduler's threads."""
    if deps.schedules is not None:
        deps.schedules.refresh_soon()
