"""Slack's events, each handled exactly once across replicas, and none lost when a replica dies.

Slack wants its 200 within three seconds and, once it has it, never sends the event again. So a
replica acknowledges an event only after it has committed a claim holding the event's body
(`storage.event_claims`), then hands the event to a worker thread, which runs the listeners and records
the event done, or failed. Another delivery of the event, to this replica or another, finds the
claim and is acknowledged without being handled again.

A replica killed between the acknowledgement and the end of its listeners leaves a claim that
nobody finishes. Once the claim is older than the lease, the next delivery of the event (if Slack
sends one) or the recovery job of any replica takes it over and handles the stored body. A failed
event is retried the same way after the lease, up to ``MAX_EVENT_ATTEMPTS`` in all, then left failed, body
and error kept for ``KEEP_UNFINISHED`` (14 days), and logged.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from storage.event_claims import (
    claim_event,
    purge_events,
    record_event_done,
    record_event_failed,
    renew_event_claim,
    take_over_event,
    unfinished_events,
)

logger = logging.getLogger(__name__)

# Attempts at an event's listeners before it is left failed for people to look at.
MAX_EVENT_ATTEMPTS = 3
# Handled events are remembered this long, far past Slack's last redelivery (about an hour).
REMEMBER = timedelta(days=3)
# Events left failed (or held by a replica that died on their last attempt) keep the message they carry
# this long, for people to look at, then are forgotten: two weeks covers a holiday, not a year.
KEEP_UNFINISHED = timedelta(days=14)
# Events one recovery pass takes over, so that one pass stays short.
RECOVERY_BATCH = 100

# Runs an event's listeners to the end; raises, or returns False, when one of them failed.
Handler = Callable[[dict[str, Any]], bool]


def event_key(body: dict[str, Any]) -> tuple[str, str] | None:
    """The ``(team_id, event_id)`` of an Events API delivery; None for any other request."""
    if body.get("type") != "event_callback":
        return None
    team_id, event_id = body.get("team_id"), body.get("event_id")
    if not isinstance(team_id, str) or not isinstance(event_id, str) or not team_id or not event_id:
        return None
    return team_id, event_id


def message_ts_of(body: dict[str, Any]) -> str | None:
    """The ts of the message an Events API delivery is about: a new message's own, an edited message's;
    None for a deletion, a reaction or any other event."""
    event = body.get("event")
    if not isinstance(event, dict) or event.get("type") != "message":
        return None
    if event.get("subtype") == "message_changed":
        message = event.get("message")
        event = message if isinstance(message, dict) else {}
    ts = event.get("ts")
    return ts if isinstance(ts, str) and 0 < len(ts) <= 32 else None


@dataclass(frozen=True)
class Claim:
    """An event this replica holds: handle ``body``, then settle the claim made at ``claimed_at``."""

    team_id: str
    event_id: str
    body: dict[str, Any]
    claimed_at: datetime
    attempt: int


@dataclass
class Inbox:
    """One replica's side of the event claims: accept in the ack path, handle in the background."""

    sessions: sessionmaker[Session]
    clock: Clock
    replica: str
    lease: timedelta = timedelta(seconds=120)
    workers: int = 4
    _handler: Handler | None = field(default=None, repr=False)
    _executor: ThreadPoolExecutor | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def serve(self, handler: Handler) -> None:
        """Hand accepted events to ``handler`` from now on."""
        self._handler = handler

    def claim(self, s: Session, body: dict[str, Any], now: datetime) -> Claim | None:
        """Claim an event in the caller's transaction, before Slack is acknowledged; None when another
        delivery has it, handled or in hand (the caller acknowledges it and does nothing more).

        The caller commits, then hands the claim to `submit`: an event is handled only once its claim
        is in the database for every replica to see. A claim that can't be committed must raise, so
        that Slack, left without its 200, delivers the event again (`twoway.acknowledge.acknowledge`).
        """
        key = event_key(body)
        if key is None:
            raise ValueError("only Events API deliveries are claimed")
        team_id, event_id = key
        claimed = claim_event(
            s,
            team_id,
            event_id,
            body=json.dumps(body),
            replica=self.replica,
            now=now,
            message_ts=message_ts_of(body),
        )
        if claimed:
            return Claim(team_id, event_id, body, now, attempt=1)
        return self.take_over(s, body, now)

    def take_over(self, s: Session, body: dict[str, Any], now: datetime) -> Claim | None:
        """For an event claimed before: take its claim over if it lapsed, in the caller's transaction;
        None when it is handled already, or in hand. The caller commits, then submits, as for `claim`."""
        key = event_key(body)
        if key is None:
            raise ValueError("only Events API deliveries are claimed")
        team_id, event_id = key
        # Slack redelivers when it got no 200: a claim past its lease is a replica that died.
        taken = take_over_event(
            s,
            team_id,
            event_id,
            replica=self.replica,
            now=now,
            stale_before=now - self.lease,
            max_attempts=MAX_EVENT_ATTEMPTS,
        )
        if taken is None:
            logger.info("event %s of %s is handled already; acknowledging the redelivery", event_id, team_id)
            return None
        logger.warning("event %s of %s: taking over a lapsed claim on redelivery", event_id, team_id)
        return Claim(team_id, event_id, body, now, attempt=taken.attempts)

    def submit(self, claim: Claim) -> None:
        """Handle a committed claim in the background."""
        self._pool().submit(
            self._run, claim.team_id, claim.event_id, claim.body, claim.claimed_at, attempt=claim.attempt
        )

    def recover(self, team_id: str) -> int:
        """Handle the team's events whose claims lapsed or failed, here and now; return how many."""
        now = self.clock()
        with self.sessions.begin() as s:
            event_ids = unfinished_events(
                s,
                team_id,
                stale_before=now - self.lease,
                max_attempts=MAX_EVENT_ATTEMPTS,
                limit=RECOVERY_BATCH,
            )
        handled = 0
        for event_id in event_ids:
            now = self.clock()
            with self.sessions.begin() as s:
                taken = take_over_event(
                    s,
                    team_id,
                    event_id,
                    replica=self.replica,
                    now=now,
                    stale_before=now - self.lease,
                    max_attempts=MAX_EVENT_ATTEMPTS,
                )
                body = json.loads(taken.body) if taken is not None and taken.body else None
                attempt = taken.attempts if taken is not None else 0
            if body is None:
                continue  # another replica took it first
            logger.warning("event %s of %s: handling it again (attempt %d)", event_id, team_id, attempt)
            self._run(team_id, event_id, body, now, attempt=attempt)
            handled += 1
        return handled

    def purge(self, team_id: str) -> int:
        """Forget the team's events handled long enough ago that Slack sends none of them again, and
        those left failed ``KEEP_UNFINISHED`` ago, with the messages they carry; return how many."""
        now = self.clock()
        with self.sessions.begin() as s:
            return purge_events(
                s, team_id, done_before=now - REMEMBER, unfinished_before=now - KEEP_UNFINISHED
            )

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking events; with ``wait``, finish those in hand (the others' claims will lapse)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait, cancel_futures=not wait)

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="twoway-event")
            return self._executor

    def _run(
        self, team_id: str, event_id: str, body: dict[str, Any], claimed_at: datetime, *, attempt: int = 1
    ) -> None:
        now = self.clock()
        # An event that waited its turn for over half its lease gets a whole lease again, unless
        # another replica took it meanwhile; most start at once and skip that transaction.
        if now - claimed_at > self.lease / 2:
            with self.sessions.begin() as s:
                if not renew_event_claim(s, team_id, event_id, claimed_at=claimed_at, now=now):
                    logger.warning(
                        "event %s of %s was taken over while it waited its turn", event_id, team_id
                    )
                    return
            claimed_at = now
        error: str | None = None
        try:
            if self._handler is None:
                raise RuntimeError("the inbox has no handler")
            if not self._handler(body):
                error = "a listener failed"
        except Exception as failure:
            logger.exception("handling event %s of %s failed", event_id, team_id)
            error = f"{type(failure).__name__}: {failure}"[:500]
        with self.sessions.begin() as s:
            if error is None:
                settled = record_event_done(s, team_id, event_id, claimed_at=claimed_at)
            else:
                settled = record_event_failed(s, team_id, event_id, claimed_at=claimed_at, error=error)
        if not settled:
            logger.warning("event %s of %s was taken over while this replica handled it", event_id, team_id)
        elif error is not None and attempt >= MAX_EVENT_ATTEMPTS:
            logger.error(
                "event %s of %s failed %d times and is left failed: %s", event_id, team_id, attempt, error
            )
        elif error is not None:
            logger.warning(
                "event %s of %s failed (attempt %d); it is retried after the lease",
                event_id,
                team_id,
                attempt,
            )
