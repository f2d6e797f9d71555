"""Snapshots: a post's engagement counts at one time, the latest of which counts.

Each function takes a session and a ``team_id`` first and filters on it. None commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import Snapshot


def latest_snapshot(s: Session, team_id: str, post_id: int) -> Snapshot | None:
    """Return the post's most recent snapshot, or None if it has none."""
    return s.scalars(
        select(Snapshot)
        .where(Snapshot.team_id == team_id, Snapshot.post_id == post_id)
        .order_by(Snapshot.recorded_at.desc())
        .limit(1)
    ).first()


def add_snapshot(
    s: Session,
    team_id: str,
    post_id: int,
    *,
    comments_received: int,
    replies_sent: int,
    shares: int,
    likes: int,
    views: int | None = None,
    impressions: int | None = None,
    saves: int | None = None,
    quotes: int | None = None,
    recorded_at: datetime,
    recorded_by: str | None,
    source: str,
    source_ref: str | None = None,
) -> bool:
    """Record a snapshot; return False when it was already recorded (same time, or same source message)."""
    return insert_ignoring_conflicts(
        s,
        Snapshot,
        {
            "team_id": team_id,
            "post_id": post_id,
            "comments_received": comments_received,
            "replies_sent": replies_sent,
            "shares": shares,
            "likes": likes,
            "views": views,
            "impressions": impressions,
            "saves": saves,
            "quotes": quotes,
            "recorded_at": recorded_at,
            "recorded_by": recorded_by,
            "source": source,
            "source_ref": source_ref,
        },
    )


def snapshots_of(s: Session, team_id: str, post_ids: Sequence[int]) -> list[Snapshot]:
    """Return every snapshot of these posts, oldest first."""
    if not post_ids:
        return []
    return list(
        s.scalars(
            select(Snapshot)
            .where(Snapshot.team_id == team_id, Snapshot.post_id.in_(post_ids))
            .order_by(Snapshot.recorded_at)
        )
    )


def get_snapshot(s: Session, team_id: str, snapshot_id: int) -> Snapshot | None:
    """Return the team's snapshot ``snapshot_id``, or None."""
    return s.scalars(select(Snapshot).where(Snapshot.team_id == team_id, Snapshot.id == snapshot_id)).first()


def snapshot_by_source(
    s: Session, team_id: str, post_id: int, source: str, source_ref: str
) -> Snapshot | None:
    """Return the post's snapshot recorded from that source (a summary message's ts), or None."""
    return s.scalars(
        select(Snapshot).where(
            Snapshot.team_id == team_id,
            Snapshot.post_id == post_id,
            Snapshot.source == source,
            Snapshot.source_ref == source_ref,
        )
    ).first()


def snapshot_before(s: Session, team_id: str, snapshot: Snapshot) -> Snapshot | None:
    """Return the post's latest snapshot recorded before ``snapshot``, or None."""
    return s.scalars(
        select(Snapshot)
        .where(
            Snapshot.team_id == team_id,
            Snapshot.post_id == snapshot.post_id,
            Snapshot.recorded_at < snapshot.recorded_at,
        )
        .order_by(Snapshot.recorded_at.desc())
        .limit(1)
    ).first()


def delete_snapshot(s: Session, team_id: str, snapshot_id: int) -> bool:
    """Delete the team's snapshot ``snapshot_id``; return whether there was one."""
    result = s.execute(delete(Snapshot).where(Snapshot.team_id == team_id, Snapshot.id == snapshot_id))
    return bool(getattr(result, "rowcount", 0))


def snapshot_at(s: Session, team_id: str, post_id: int, recorded_at: datetime) -> Snapshot | None:
    """Return the post's snapshot recorded at that moment, or None (a post has one snapshot a moment)."""
    return s.scalars(
        select(Snapshot).where(
            Snapshot.team_id == team_id, Snapshot.post_id == post_id, Snapshot.recorded_at == recorded_at
        )
    ).first()
