"""Turns at Slack's rate-limited methods, taken from one clock per workspace that every replica shares."""

from __future__ import annotations

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from storage.db import insert_ignoring_conflicts
from storage.models import SlackTurn


def take_turn(
    s: Session, team_id: str, method: str, *, now: float, interval: float, burst: int, channel_id: str = ""
) -> float:
    """Reserve the next call of ``method`` in the workspace (or its channel); return when it may be made.

    A token bucket of ``burst`` calls refilled one every ``interval`` seconds, kept as the moment from
    which it is empty (the generic cell rate algorithm): one conditional UPDATE takes a turn, so
    replicas racing for turns queue on the row and each gets its own. Times are seconds since the
    epoch; the answer is ``now`` when a call is in hand, later when the caller must wait.
    """
    where = (SlackTurn.team_id == team_id, SlackTurn.method == method, SlackTurn.channel_id == channel_id)
    # A bucket idle long enough is full again: nothing older than a whole burst counts.
    full = now - burst * interval
    taking = (
        update(SlackTurn)
        .where(*where)
        .values(next_at=case((SlackTurn.next_at > full, SlackTurn.next_at), else_=full) + interval)
        .returning(SlackTurn.next_at)
        .execution_options(synchronize_session=False)
    )
    taken = s.execute(taking).scalar_one_or_none()
    if taken is None:
        insert_ignoring_conflicts(
            s, SlackTurn, {"team_id": team_id, "method": method, "channel_id": channel_id, "next_at": full}
        )
        taken = s.execute(taking).scalar_one()
    return max(now, taken)


def take_turn_by(
    s: Session, team_id: str, method: str, *, now: float, interval: float, burst: int, by: float
) -> float | None:
    """Reserve the next call of ``method`` in the workspace if it comes no later than ``by``; return when
    it may be made, or None, reserving nothing, when it comes later (the caller does without the call)."""
    where = (SlackTurn.team_id == team_id, SlackTurn.method == method, SlackTurn.channel_id == "")
    full = now - burst * interval
    after = case((SlackTurn.next_at > full, SlackTurn.next_at), else_=full) + interval
    taking = (
        update(SlackTurn)
        .where(*where, after <= by)
        .values(next_at=after)
        .returning(SlackTurn.next_at)
        .execution_options(synchronize_session=False)
    )
    taken = s.execute(taking).scalar_one_or_none()
    if taken is None:
        inserted = insert_ignoring_conflicts(
            s, SlackTurn, {"team_id": team_id, "method": method, "channel_id": "", "next_at": full}
        )
        if not inserted:
            return None
        taken = s.execute(taking).scalar_one_or_none()
    return None if taken is None else max(now, taken)


def hold_turns(s: Session, team_id: str, method: str, *, until: float, interval: float) -> None:
    """No call of ``method`` in the workspace before ``until``: Slack answered 429 with a Retry-After."""
    empty_until = until - interval
    held = s.execute(
        update(SlackTurn)
        .where(SlackTurn.team_id == team_id, SlackTurn.method == method, SlackTurn.channel_id == "")
        .values(next_at=case((SlackTurn.next_at > empty_until, SlackTurn.next_at), else_=empty_until))
        .returning(SlackTurn.next_at)
        .execution_options(synchronize_session=False)
    ).first()
    if held is None:
        insert_ignoring_conflicts(
            s, SlackTurn, {"team_id": team_id, "method": method, "channel_id": "", "next_at": empty_until}
        )
