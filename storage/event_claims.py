"""Claims on Slack's events: each one handled exactly once across replicas, and never dropped.

The replica that acknowledges an event first inserts its claim, with the event's body, and
commits. It records the event ``done`` (forgetting the body) or ``failed`` when its listeners
finish. A claim still ``handling`` after the lease belongs to a replica that died or hung; a
failed one waits out the lease too. Either is taken over by one replica with a conditional UPDATE
and handled again, up to a number of attempts. Each function takes a session and a ``team_id``
first and filters on it. None commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import ProcessedEvent


def claim_event(s: Session, team_id: str, event_id: str, *, body: str, replica: str, now: datetime) -> bool:
    """Claim the team's event for ``replica``; False when it was claimed before (handled or not)."""
    return insert_ignoring_conflicts(
        s,
        ProcessedEvent,
        {
            "team_id": team_id,
            "event_id": event_id,
            "received_at": now,
            "state": "handling",
            "claimed_at": now,
            "claimed_by": replica,
            "attempts": 1,
            "body": body,
        },
    )


def take_over_event(
    s: Session,
    team_id: str,
    event_id: str,
    *,
    replica: str,
    now: datetime,
    stale_before: datetime,
    max_attempts: int,
) -> ProcessedEvent | None:
    """Claim an event whose claim is older than ``stale_before`` and not done; return it, or None.

    None means the event is done, freshly claimed, out of attempts, or another replica took it first.
    """
    return s.scalars(
        update(ProcessedEvent)
        .where(
            ProcessedEvent.team_id == team_id,
            ProcessedEvent.event_id == event_id,
            ProcessedEvent.state.in_(("handling", "failed")),
            ProcessedEvent.claimed_at < stale_before,
            ProcessedEvent.attempts < max_attempts,
            ProcessedEvent.body.is_not(None),
        )
        .values(state="handling", claimed_at=now, claimed_by=replica, attempts=ProcessedEvent.attempts + 1)
        .returning(ProcessedEvent)
        .execution_options(synchronize_session="fetch")
    ).one_or_none()


def _settle(s: Session, team_id: str, event_id: str, claimed_at: datetime, values: dict[str, object]) -> bool:
    """Finish the claim made at ``claimed_at``; False when another replica has taken it over since."""
    done = s.execute(
        update(ProcessedEvent)
        .where(
            ProcessedEvent.team_id == team_id,
            ProcessedEvent.event_id == event_id,
            ProcessedEvent.state == "handling",
            ProcessedEvent.claimed_at == claimed_at,
        )
        .values(values)
        .returning(ProcessedEvent.event_id)
        .execution_options(synchronize_session="fetch")
    ).first()
    return done is not None


def renew_event_claim(
    s: Session, team_id: str, event_id: str, *, claimed_at: datetime, now: datetime
) -> bool:
    """Date the claim made at ``claimed_at`` anew, as its listeners start; False if it was taken over.

    The lease then runs from the start of the work, not from the claim: an event that waited its
    turn behind a burst of others is not mistaken for one whose replica died.
    """
    return _settle(s, team_id, event_id, claimed_at, {"claimed_at": now})


def record_event_done(s: Session, team_id: str, event_id: str, *, claimed_at: datetime) -> bool:
    """The event's listeners finished: forget its body."""
    return _settle(s, team_id, event_id, claimed_at, {"state": "done", "body": None, "error": None})


def record_event_failed(s: Session, team_id: str, event_id: str, *, claimed_at: datetime, error: str) -> bool:
    """A listener failed: keep the body for another attempt once the lease has passed."""
    return _settle(s, team_id, event_id, claimed_at, {"state": "failed", "error": error})


def unfinished_events(
    s: Session, team_id: str, *, stale_before: datetime, max_attempts: int, limit: int
) -> Sequence[str]:
    """The team's events, oldest first, whose claim lapsed or failed and that have attempts left."""
    return s.scalars(
        select(ProcessedEvent.event_id)
        .where(
            ProcessedEvent.team_id == team_id,
            ProcessedEvent.state.in_(("handling", "failed")),
            ProcessedEvent.claimed_at < stale_before,
            ProcessedEvent.attempts < max_attempts,
        )
        .order_by(ProcessedEvent.claimed_at)
        .limit(limit)
    ).all()


def purge_done_events(s: Session, team_id: str, *, before: datetime) -> int:
    """Delete the team's handled events received before ``before``: Slack redelivers no event that old."""
    deleted = s.execute(
        delete(ProcessedEvent)
        .where(
            ProcessedEvent.team_id == team_id,
            ProcessedEvent.state == "done",
            ProcessedEvent.received_at < before,
        )
        .returning(ProcessedEvent.event_id)
    ).all()
    return len(deleted)
