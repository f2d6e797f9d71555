"""Workspaces that removed twoway, and since when (``departed_workspaces``).

A departure is recorded once, at its first notice (``app_uninstalled`` and ``tokens_revoked`` both come
with an uninstall); coming back deletes it; the purge takes a departure with one conditional DELETE, so
that of replicas sweeping together one purges, and never one that came back meanwhile. Each function
but ``departed_before`` and ``departed_teams`` takes a ``team_id`` and filters on it. None commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import DepartedWorkspace


def record_departure(s: Session, team_id: str, *, now: datetime, reason: str) -> bool:
    """Record that the team left at ``now``; return False when it had left already (the first date stays)."""
    return insert_ignoring_conflicts(
        s, DepartedWorkspace, {"team_id": team_id, "left_at": now, "reason": reason}
    )


def departure(s: Session, team_id: str) -> DepartedWorkspace | None:
    """Return the team's departure, or None while it has twoway installed."""
    return s.get(DepartedWorkspace, team_id)


def cancel_departure(s: Session, team_id: str) -> bool:
    """The team installed twoway again: forget its departure; return whether there was one."""
    gone = s.execute(
        delete(DepartedWorkspace)
        .where(DepartedWorkspace.team_id == team_id)
        .returning(DepartedWorkspace.team_id)
    ).all()
    return bool(gone)


def departed_teams(s: Session) -> list[str]:
    """Return every workspace that left and is not purged yet, sorted (across workspaces: bookkeeping)."""
    return list(s.scalars(select(DepartedWorkspace.team_id).order_by(DepartedWorkspace.team_id)))


def departed_before(s: Session, before: datetime) -> list[str]:
    """Return the workspaces that left before ``before``, sorted (across workspaces: bookkeeping)."""
    return list(
        s.scalars(
            select(DepartedWorkspace.team_id)
            .where(DepartedWorkspace.left_at < before)
            .order_by(DepartedWorkspace.team_id)
        )
    )


def take_departure(s: Session, team_id: str, *, before: datetime) -> bool:
    """Delete the team's departure if it left before ``before``; return whether this caller did.

    The caller purges the team's rows in the same transaction: a concurrent return, or another
    replica's purge, waits for it and then finds no departure.
    """
    taken = s.execute(
        delete(DepartedWorkspace)
        .where(DepartedWorkspace.team_id == team_id, DepartedWorkspace.left_at < before)
        .returning(DepartedWorkspace.team_id)
    ).all()
    return bool(taken)
