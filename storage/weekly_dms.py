"""People's own settings (a weekly direct message instead of channel nudges, their time zone) and the
weekly direct messages themselves, each sent once across replicas.

A replica claims a person's week in ``weekly_dms`` before it sends, and records the message after; a
week that failed, or whose replica died holding it, is taken over by one replica with a conditional
UPDATE (``storage.leases``). Each function takes a session and a ``team_id`` first and filters on it.
None commits.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.leases import Lease
from storage.models import Person, WeeklyDm

WEEKLY_DMS = Lease(WeeklyDm, key=("team_id", "id"), held="claimed")


def get_person(s: Session, team_id: str, user_id: str) -> Person | None:
    """Return the person's settings row, or None when they never changed one."""
    return s.get(Person, (team_id, user_id))


def set_weekly_dm(s: Session, team_id: str, user_id: str, *, on: bool, now: datetime) -> Person:
    """Turn the person's weekly direct message on or off; return their row (created when missing)."""
    insert_ignoring_conflicts(
        s, Person, {"team_id": team_id, "user_id": user_id, "weekly_dm": on, "updated_at": now}
    )
    person = get_person(s, team_id, user_id)
    assert person is not None, "inserted or there already"
    s.refresh(person)
    person.weekly_dm = on
    person.updated_at = now
    s.flush()
    return person


def people_taking_dm(s: Session, team_id: str) -> list[Person]:
    """Return the people of the team who take the weekly direct message, by user id."""
    return list(
        s.scalars(
            select(Person)
            .where(Person.team_id == team_id, Person.weekly_dm.is_(True))
            .order_by(Person.user_id)
        )
    )


def taking_dm(s: Session, team_id: str, user_ids: Collection[str]) -> set[str]:
    """Return which of ``user_ids`` take the weekly direct message instead of channel nudges."""
    if not user_ids:
        return set()
    return set(
        s.scalars(
            select(Person.user_id).where(
                Person.team_id == team_id, Person.user_id.in_(list(user_ids)), Person.weekly_dm.is_(True)
            )
        )
    )


def get_weekly_dm(s: Session, team_id: str, user_id: str, week_start: datetime) -> WeeklyDm | None:
    """Return the person's direct message of the week starting ``week_start``, or None."""
    return s.scalars(
        select(WeeklyDm).where(
            WeeklyDm.team_id == team_id, WeeklyDm.user_id == user_id, WeeklyDm.week_start == week_start
        )
    ).one_or_none()


def claim_weekly_dm(
    s: Session, team_id: str, user_id: str, *, week_start: datetime, replica: str, now: datetime
) -> WeeklyDm | None:
    """Claim the person's week for ``replica``; return the new row, or None when it was claimed before.

    Commit before sending, so that other replicas see the claim.
    """
    row = {"team_id": team_id, "user_id": user_id, "week_start": week_start}
    if not WEEKLY_DMS.claim(s, row, now=now, replica=replica):
        return None
    return get_weekly_dm(s, team_id, user_id, week_start)


def take_over_weekly_dm(
    s: Session,
    team_id: str,
    dm_id: int,
    *,
    replica: str,
    now: datetime,
    stale_before: datetime,
    max_attempts: int,
) -> WeeklyDm | None:
    """Claim a week that failed, or whose claim is older than ``stale_before``; return it, or None.

    None means it is sent, freshly claimed, out of attempts, or another replica took it first.
    """
    return WEEKLY_DMS.take_over(
        s, (team_id, dm_id), replica=replica, now=now, stale_before=stale_before, max_attempts=max_attempts
    )


def record_weekly_dm_sent(
    s: Session,
    team_id: str,
    dm_id: int,
    *,
    claimed_at: datetime,
    channel_id: str,
    message_ts: str,
    now: datetime,
) -> bool:
    """Record the sent message; return False if the claim made at ``claimed_at`` was lost meanwhile."""
    values = {
        "state": "sent",
        "channel_id": channel_id,
        "message_ts": message_ts,
        "sent_at": now,
        "error": None,
    }
    return WEEKLY_DMS.settle(s, (team_id, dm_id), claimed_at=claimed_at, values=values)


def record_weekly_dm_failed(
    s: Session, team_id: str, dm_id: int, *, claimed_at: datetime, error: str
) -> bool:
    """Record why sending failed; return False if the claim made at ``claimed_at`` was lost meanwhile."""
    values = {"state": "failed", "error": error}
    return WEEKLY_DMS.settle(s, (team_id, dm_id), claimed_at=claimed_at, values=values)
