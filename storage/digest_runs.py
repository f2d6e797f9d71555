"""Digest runs: each channel's digest of each period, posted once across replicas.

A replica claims a period's run before it posts and records the message ts after; a run that
failed, or whose replica died holding it, is taken over by one replica with a conditional UPDATE
(``storage.leases``) and posted again, up to a number of attempts. Each function takes a session
and a ``team_id`` first and filters on it. None commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from storage.channels import get_channel
from storage.leases import Lease
from storage.models import Channel, DigestRun

RUNS = Lease(DigestRun, key=("team_id", "id"), held="claimed")


class Span(Protocol):
    """A digest period as storage sees it: ``[start, end)``, aware UTC."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


def get_run(s: Session, team_id: str, channel_id: str, period_start: datetime) -> DigestRun | None:
    """Return the channel's digest run for the period starting at ``period_start``, or None."""
    return s.scalars(
        select(DigestRun).where(
            DigestRun.team_id == team_id,
            DigestRun.channel_id == channel_id,
            DigestRun.period_start == period_start,
        )
    ).one_or_none()


def claim_run(
    s: Session,
    team_id: str,
    channel_id: str,
    *,
    period_start: datetime,
    period_end: datetime,
    replica: str,
    now: datetime,
) -> DigestRun | None:
    """Claim the period's digest for ``replica``; return the new run, or None when it was claimed before.

    The channel must exist. Commit before posting, so that other replicas see the claim.
    """
    row = {
        "team_id": team_id,
        "channel_id": channel_id,
        "period_start": period_start,
        "period_end": period_end,
    }
    created = RUNS.claim(s, row, now=now, replica=replica)
    return get_run(s, team_id, channel_id, period_start) if created else None


def take_over_run(
    s: Session,
    team_id: str,
    run_id: int,
    *,
    replica: str,
    now: datetime,
    stale_before: datetime,
    max_attempts: int,
) -> DigestRun | None:
    """Claim a run that failed, or whose claim is older than ``stale_before``; return it, or None.

    None means the run is posted, freshly claimed, out of attempts, or another replica took it first.
    """
    return RUNS.take_over(
        s, (team_id, run_id), replica=replica, now=now, stale_before=stale_before, max_attempts=max_attempts
    )


def record_run_posted(
    s: Session, team_id: str, run_id: int, *, claimed_at: datetime, message_ts: str, now: datetime
) -> bool:
    """Record the posted digest's ts; return False if the claim made at ``claimed_at`` was lost meanwhile."""
    values = {"state": "posted", "message_ts": message_ts, "posted_at": now, "error": None}
    return RUNS.settle(s, (team_id, run_id), claimed_at=claimed_at, values=values)


def record_run_failed(s: Session, team_id: str, run_id: int, *, claimed_at: datetime, error: str) -> bool:
    """Record why posting failed; return False if the claim made at ``claimed_at`` was lost meanwhile."""
    values = {"state": "failed", "error": error}
    return RUNS.settle(s, (team_id, run_id), claimed_at=claimed_at, values=values)


def runs_to_retry(
    s: Session, team_id: str, *, stale_before: datetime, ended_after: datetime, max_attempts: int
) -> list[DigestRun]:
    """Return the team's runs worth another attempt, oldest period first.

    Those are failed runs and runs claimed before ``stale_before`` (a replica died holding them),
    with attempts left, whose period ended after ``ended_after``, in channels twoway is still in and
    that are not archived.
    """
    return list(
        s.scalars(
            select(DigestRun)
            .join(
                Channel,
                (Channel.team_id == DigestRun.team_id) & (Channel.channel_id == DigestRun.channel_id),
            )
            .where(
                DigestRun.team_id == team_id,
                Channel.bot_is_member,
                Channel.is_archived.is_(False),
                DigestRun.period_end > ended_after,
                *RUNS.lapsed(stale_before=stale_before, max_attempts=max_attempts),
            )
            .order_by(DigestRun.period_end, DigestRun.id)
        )
    )


def missed_previous(s: Session, team_id: str, channel_id: str, period: Span) -> bool:
    """Return True when the digest before ``period`` was due but never posted.

    The previous digest is the posted run that ended within one period length before
    ``period.start``. It was due only if the channel existed by then.
    """
    channel = get_channel(s, team_id, channel_id)
    if channel is None or channel.created_at > period.start:
        return False
    length = period.end - period.start
    posted = s.scalar(
        select(
            exists().where(
                DigestRun.team_id == team_id,
                DigestRun.channel_id == channel_id,
                DigestRun.state == "posted",
                DigestRun.period_end <= period.start,
                DigestRun.period_end > period.start - length,
            )
        )
    )
    return not posted


def last_posted_run(s: Session, team_id: str, channel_id: str, *, ended_by: datetime) -> DigestRun | None:
    """Return the channel's posted digest run whose period ended last, by ``ended_by``; None if none."""
    return s.scalars(
        select(DigestRun)
        .where(
            DigestRun.team_id == team_id,
            DigestRun.channel_id == channel_id,
            DigestRun.state == "posted",
            DigestRun.period_end <= ended_by,
        )
        .order_by(DigestRun.period_end.desc(), DigestRun.id.desc())
        .limit(1)
    ).one_or_none()


def lost_runs(
    s: Session,
    team_id: str,
    channel_id: str,
    *,
    ended_after: datetime | None,
    ended_by: datetime,
    retried_until: datetime,
    max_attempts: int,
) -> list[DigestRun]:
    """Return the channel's failed digest runs that no sweep will retry, oldest period first.

    Those are runs in state ``failed`` whose period ended after ``ended_after`` (any time when
    None) and by ``ended_by``, and that are out of attempts or ended by ``retried_until``: the
    sweep retries only periods that ended after it.
    """
    query = select(DigestRun).where(
        DigestRun.team_id == team_id,
        DigestRun.channel_id == channel_id,
        DigestRun.state == "failed",
        DigestRun.period_end <= ended_by,
        or_(DigestRun.attempts >= max_attempts, DigestRun.period_end <= retried_until),
    )
    if ended_after is not None:
        query = query.where(DigestRun.period_end > ended_after)
    return list(s.scalars(query.order_by(DigestRun.period_end, DigestRun.id)))
