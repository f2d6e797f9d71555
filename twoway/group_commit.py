"""The ack path's writes, grouped: the signatures and claims of concurrent requests in one commit.

Each request that must be remembered before it is answered (a signed command or interaction, a
relevant event) needs its signature inserted and, for an event, its claim with the body, durably,
before Slack gets its answer (`twoway.acknowledge`). One transaction per request costs a session,
a BEGIN, two INSERTs and a COMMIT each, and on SQLite every one waits for the single write lock.

Requests therefore queue their writes here. The first to arrive while no commit is in flight
leads: it writes every queued request's rows, its own among them, in one transaction on a Core
connection (one multi-row INSERT for the signatures, one for the claims), commits, and wakes them.
Requests arriving meanwhile queue behind that commit, and the first of them leads the next. A lone
request writes at once, alone; under load one commit serves as many requests as arrived during the
last one. Nobody waits for a batch to fill.

Each request learns what a commit of its own would have told it: whether its signature was new
(else it is a replay), and whether its event's claim went in (else the event was claimed before,
perhaps earlier in the same batch, and the caller checks whether the claim lapsed). A batch that
fails on one request's data is written again one request at a time, so that one bad row fails only
its own request; any other failure (the database down) fails every request of the batch, and each
answers 500: Slack delivers again, and nothing was acknowledged.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from bot.clock import Clock
from bot.inbox import message_ts_of
from storage.event_claims import claim_events
from storage.signatures import remember_requests

logger = logging.getLogger(__name__)


@dataclass(eq=False)
class Admission:
    """One request's part of a grouped commit: what to write, then what the commit found."""

    team_id: str
    signature: str | None
    # An event to claim: its (team_id, event_id), its body as JSON, the message it is about.
    event: tuple[str, str] | None = None
    body: str | None = None
    message_ts: str | None = None
    # Set by the commit that wrote it.
    first: bool = False
    claimed: bool = False
    at: datetime | None = None
    error: BaseException | None = None
    _written: bool = False
    _leads: bool = False
    _ready: threading.Event = field(default_factory=threading.Event, repr=False)


@dataclass
class GroupCommit:
    """Writes the admissions of concurrent requests together, one commit per group (module doc)."""

    engine: Engine
    clock: Clock
    replica: str
    # Called with each batch's size, after its commit (metrics, tests).
    on_commit: Callable[[int], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _queue: list[Admission] = field(default_factory=list, repr=False)
    _leading: bool = field(default=False, repr=False)

    def admit(
        self, team_id: str, signature: str | None, event: tuple[str, str] | None, body: dict[str, Any] | None
    ) -> Admission:
        """Write one request's signature and claim, grouped with whatever else is queued; return what
        the commit found. Raises the commit's error when its rows couldn't be committed."""
        admission = Admission(team_id, signature, event)
        if event is not None and body is not None:
            admission.body, admission.message_ts = json.dumps(body), message_ts_of(body)
        with self._lock:
            self._queue.append(admission)
            if not self._leading:
                self._leading = admission._leads = True
        if not admission._leads:
            admission._ready.wait()
        if not admission._written:
            self._lead()
        if admission.error is not None:
            raise admission.error
        return admission

    def _lead(self) -> None:
        """Write what is queued, this request's own rows among it; then hand the lead to the next one."""
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            self._write(batch)
        except BaseException as failure:  # every request of the batch must hear of it
            for admission in batch:
                if not admission._written:
                    admission.error, admission._written = failure, True
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                if following is not None:
                    following._leads = True
                else:
                    self._leading = False
            for admission in batch:
                admission._ready.set()
            if following is not None:
                following._ready.set()

    def _write(self, batch: list[Admission]) -> None:
        try:
            self._commit(batch)
        except (IntegrityError, DataError) as failure:
            if len(batch) == 1:
                raise
            logger.warning(
                "a grouped commit of %d requests failed on their data; writing each alone: %s",
                len(batch),
                type(failure).__name__,
            )
            for admission in batch:
                try:
                    self._commit([admission])
                except (IntegrityError, DataError) as own:
                    admission.error, admission._written = own, True

    def _commit(self, batch: list[Admission]) -> None:
        """Insert the batch's signatures, then the claims of its new events, in one transaction."""
        now = self.clock()
        signed: dict[str, Admission] = {}
        for admission in batch:
            if admission.signature is not None:
                signed.setdefault(admission.signature, admission)
        claims: dict[tuple[str, str], Admission] = {}
        with self.engine.begin() as conn:
            new = remember_requests(conn, [(a.team_id, s) for s, a in signed.items()], now)
            firsts = [
                a for a in batch if a.signature is None or (signed[a.signature] is a and a.signature in new)
            ]
            for admission in firsts:
                if admission.event is not None:
                    claims.setdefault(admission.event, admission)
            claimed = claim_events(
                conn,
                [(*key, a.body or "", a.message_ts) for key, a in claims.items()],
                replica=self.replica,
                now=now,
            )
        # Only now, committed, is any of it true.
        first_ids = {id(a) for a in firsts}
        for admission in batch:
            admission.first = id(admission) in first_ids
            event = admission.event
            admission.claimed = event is not None and event in claimed and claims[event] is admission
            admission.at = now
            admission._written = True
        if self.on_commit is not None:
            self.on_commit(len(batch))
