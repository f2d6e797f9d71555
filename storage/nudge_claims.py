"""Nudges: the reminders to a post's owner about an open comment, each sent once across replicas.

A replica claims a nudge before it sends it and records the message ts after; a nudge that failed,
or whose replica died holding it, is taken over by one replica with a conditional UPDATE
(``storage.leases``) and sent again, up to a number of attempts. Each function takes a session and
a ``team_id`` first and filters on it. None commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.leases import Lease
from storage.models import Comment, Nudge

NUDGES = Lease(Nudge, key=("team_id", "id"), held="claimed")


def nudges_of(s: Session, team_id: str, comment_ids: Sequence[int]) -> list[Nudge]:
    """Return every nudge row of these comments, by comment then level."""
    if not comment_ids:
        return []
    return list(
        s.scalars(
            select(Nudge)
            .where(Nudge.team_id == team_id, Nudge.comment_id.in_(comment_ids))
            .order_by(Nudge.comment_id, Nudge.level)
        )
    )


def claim_nudge(s: Session, team_id: str, comment_id: int, level: int, *, now: datetime) -> Nudge | None:
    """Claim the comment's nudge of this level; return the new row, or None when it was claimed before.

    Commit before posting, so that other replicas see the claim.
    """
    if not NUDGES.claim(s, {"team_id": team_id, "comment_id": comment_id, "level": level}, now=now):
        return None
    return s.scalars(
        select(Nudge).where(Nudge.team_id == team_id, Nudge.comment_id == comment_id, Nudge.level == level)
    ).one()


def claim_nudges(
    s: Session, team_id: str, comment_ids: Sequence[int], level: int, *, now: datetime
) -> list[Nudge]:
    """Claim the comments' nudges of this level in one statement; return the rows claimed now, by
    comment. A comment whose nudge was claimed before (sent, folded, held elsewhere) is left out.

    Commit before posting, so that other replicas see the claims.
    """
    if not comment_ids:
        return []
    rows = [{"team_id": team_id, "comment_id": c, "level": level} for c in comment_ids]
    claimed = NUDGES.claim_many(s.connection(), rows, now=now)
    ids = [nudge_id for _, nudge_id in claimed]
    if not ids:
        return []
    return list(
        s.scalars(select(Nudge).where(Nudge.team_id == team_id, Nudge.id.in_(ids)).order_by(Nudge.comment_id))
    )


def settle_without_sending(
    s: Session,
    team_id: str,
    comment_ids: Sequence[int],
    level: int,
    *,
    state: str,
    now: datetime,
    message_ts: str | None = None,
) -> int:
    """Record the comments' nudges of this level as ``folded`` into a digest (``message_ts``) or
    ``skipped``, where nobody claimed them before; return how many were recorded."""
    recorded = 0
    for comment_id in comment_ids:
        values = {
            "team_id": team_id,
            "comment_id": comment_id,
            "level": level,
            "state": state,
            "claimed_at": now,
            "sent_at": now if message_ts else None,
            "message_ts": message_ts,
            "attempts": 0,
        }
        recorded += insert_ignoring_conflicts(s, Nudge, values)
    return recorded


def take_over_nudge(
    s: Session, team_id: str, nudge_id: int, *, now: datetime, stale_before: datetime, max_attempts: int
) -> Nudge | None:
    """Claim a nudge that failed, or whose claim is older than ``stale_before``; return it, or None.

    ``claimed_at`` is the claim's identity (``nudges`` has no claimant column): a taker can only
    take a claim older than its own clock minus the lease, so two holders never share one.
    """
    return NUDGES.take_over(
        s, (team_id, nudge_id), now=now, stale_before=stale_before, max_attempts=max_attempts
    )


def record_nudge_sent(
    s: Session, team_id: str, nudge_id: int, *, claimed_at: datetime, message_ts: str, now: datetime
) -> bool:
    """Record the sent nudge's ts; return False if the claim made at ``claimed_at`` was lost meanwhile."""
    values = {"state": "sent", "message_ts": message_ts, "sent_at": now, "error": None}
    return NUDGES.settle(s, (team_id, nudge_id), claimed_at=claimed_at, values=values)


def record_nudge_failed(s: Session, team_id: str, nudge_id: int, *, claimed_at: datetime, error: str) -> bool:
    """Record why a nudge was not sent; return False if the claim made at ``claimed_at`` was lost."""
    values = {"state": "failed", "error": error}
    return NUDGES.settle(s, (team_id, nudge_id), claimed_at=claimed_at, values=values)


def failed_nudges(
    s: Session, team_id: str, channel_id: str, *, tried_since: datetime | None
) -> list[tuple[Nudge, Comment]]:
    """Return the failed nudges about the channel's comments, each with its comment, by comment then level.

    Only nudges last tried at or after ``tried_since`` (any time when None): a failed nudge's
    ``claimed_at`` is when its last attempt began.
    """
    query = (
        select(Nudge, Comment)
        .join(Comment, and_(Comment.team_id == Nudge.team_id, Comment.id == Nudge.comment_id))
        .where(
            Nudge.team_id == team_id,
            Comment.team_id == team_id,
            Comment.channel_id == channel_id,
            Nudge.state == "failed",
        )
    )
    if tried_since is not None:
        query = query.where(Nudge.claimed_at >= tried_since)
    return [(n, c) for n, c in s.execute(query.order_by(Nudge.comment_id, Nudge.level))]
