"""Claims on Slack's events: each one handled exactly once across replicas, and never dropped.

The replica that acknowledges an event first inserts its claim, with the event's body, and
commits. It records the event ``done`` (forgetting the body) or ``failed`` when its listeners
finish; a failed event's body goes with its claim after a while (``purge_events``). A claim still
``handling`` after the lease belongs to a replica that died or hung; a failed one waits out the
lease too. Either is taken over by one replica with a conditional UPDATE (``storage.leases``) and
handled again, up to a number of attempts. Each function takes a session and a ``team_id`` first
and filters on it. None commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, and_, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from storage.leases import Lease
from storage.models import ProcessedEvent

EVENTS = Lease(ProcessedEvent, key=("team_id", "event_id"), held="handling", failed_waits_lease=True)


def claim_event(
    s: Session,
    team_id: str,
    event_id: str,
    *,
    body: str,
    replica: str,
    now: datetime,
    message_ts: str | None = None,
) -> bool:
    """Claim the team's event (about the message ``message_ts``, if any) for ``replica``; return False
    when it was claimed before (handled or not)."""
    row = {
        "team_id": team_id,
        "event_id": event_id,
        "received_at": now,
        "body": body,
        "message_ts": message_ts,
    }
    return EVENTS.claim(s, row, now=now, replica=replica)


def claim_events(
    conn: Connection, events: Sequence[tuple[str, str, str, str | None]], *, replica: str, now: datetime
) -> set[tuple[str, str]]:
    """Claim many events for ``replica`` in one statement, each ``(team_id, event_id, body, message_ts)``;
    return the ``(team_id, event_id)`` of those claimed. One missing was claimed before, or earlier in
    ``events``."""
    rows = [
        {"team_id": team_id, "event_id": event_id, "received_at": now, "body": body, "message_ts": message_ts}
        for team_id, event_id, body, message_ts in events
    ]
    return {
        (team_id, event_id) for team_id, event_id in EVENTS.claim_many(conn, rows, now=now, replica=replica)
    }


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
    return EVENTS.take_over(
        s,
        (team_id, event_id),
        replica=replica,
        now=now,
        stale_before=stale_before,
        max_attempts=max_attempts,
        also=(ProcessedEvent.body.is_not(None),),
    )


def renew_event_claim(
    s: Session, team_id: str, event_id: str, *, claimed_at: datetime, now: datetime
) -> bool:
    """Date the claim made at ``claimed_at`` anew, as its listeners start; return False if it was taken over.

    The lease then runs from the start of the work, not from the claim: an event that waited its
    turn behind a burst of others is not mistaken for one whose replica died.
    """
    return EVENTS.renew(s, (team_id, event_id), claimed_at=claimed_at, now=now)


def record_event_done(s: Session, team_id: str, event_id: str, *, claimed_at: datetime) -> bool:
    """The event's listeners finished: forget its body. Return False if the claim was taken over."""
    values = {"state": "done", "body": None, "error": None}
    return EVENTS.settle(s, (team_id, event_id), claimed_at=claimed_at, values=values)


def record_event_failed(s: Session, team_id: str, event_id: str, *, claimed_at: datetime, error: str) -> bool:
    """A listener failed: keep the body for another attempt once the lease has passed.

    Return False if the claim was taken over.
    """
    values = {"state": "failed", "error": error}
    return EVENTS.settle(s, (team_id, event_id), claimed_at=claimed_at, values=values)


def unfinished_events(
    s: Session, team_id: str, *, stale_before: datetime, max_attempts: int, limit: int
) -> Sequence[str]:
    """Return the ids of the team's events whose claim lapsed or failed, with attempts left, oldest first."""
    return s.scalars(
        select(ProcessedEvent.event_id)
        .where(
            ProcessedEvent.team_id == team_id,
            *EVENTS.lapsed(stale_before=stale_before, max_attempts=max_attempts),
        )
        .order_by(ProcessedEvent.claimed_at)
        .limit(limit)
    ).all()


def in_hand(s: Session | Connection, team_id: str, message_ts: str) -> bool:
    """Whether an event of the team's about the message ``message_ts`` is claimed and not done yet:
    handled now, waiting its turn in an inbox, or failed and waiting for another attempt."""
    return s.scalar(_IN_HAND, {"team_id": team_id, "message_ts": message_ts}) is not None


# Built once, its values bound: the relevance view asks it on the ack path (`bot.relevance`).
_IN_HAND = (
    select(ProcessedEvent.event_id)
    .where(
        ProcessedEvent.team_id == bindparam("team_id", type_=ProcessedEvent.team_id.type),
        ProcessedEvent.message_ts == bindparam("message_ts", type_=ProcessedEvent.message_ts.type),
        ProcessedEvent.state != "done",
    )
    .limit(1)
)


def purge_events(s: Session, team_id: str, *, done_before: datetime, unfinished_before: datetime) -> int:
    """Delete the team's events handled and received before ``done_before``, and those never handled
    (failed, or held with no attempt left) received before ``unfinished_before``, with the bodies they
    keep; return how many went.

    Slack redelivers no event that old.
    """
    deleted = s.execute(
        delete(ProcessedEvent)
        .where(
            ProcessedEvent.team_id == team_id,
            or_(
                and_(ProcessedEvent.state == "done", ProcessedEvent.received_at < done_before),
                and_(ProcessedEvent.state != "done", ProcessedEvent.received_at < unfinished_before),
            ),
        )
        .returning(ProcessedEvent.event_id)
    ).all()
    return len(deleted)
