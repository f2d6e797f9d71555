"""Each person's time zone as Slack gave it (`users.info`), kept in the `people` table so that a
channel's default zone costs one Web API call per person a week at most. None commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import Person

# A person's zone read from Slack is used this long before it is read again.
ZONE_KEPT = timedelta(days=7)


def remembered_zone(s: Session, team_id: str, user_id: str, *, read_since: datetime) -> str | None:
    """The person's zone if it was read from Slack at ``read_since`` or later, else None."""
    return s.scalars(
        select(Person.timezone).where(
            Person.team_id == team_id,
            Person.user_id == user_id,
            Person.timezone.is_not(None),
            Person.timezone_read_at >= read_since,
        )
    ).one_or_none()


def remember_zone(s: Session, team_id: str, user_id: str, zone: str | None, *, now: datetime) -> None:
    """Keep the zone Slack gave for the person (None when it gave none), and when; their other settings
    stay as they are."""
    values = {
        "team_id": team_id,
        "user_id": user_id,
        "timezone": zone,
        "timezone_read_at": now,
        "updated_at": now,
    }
    if insert_ignoring_conflicts(s, Person, values):
        return
    person = s.get(Person, (team_id, user_id))
    assert person is not None, "present: the insert collided with it"
    person.timezone, person.timezone_read_at, person.updated_at = zone, now, now
