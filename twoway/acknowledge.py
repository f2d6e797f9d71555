"""The ack path: what stands between a request from Slack and its answer.

A replayed request is refused, and an event is claimed, in one transaction; then the event is
acknowledged, and its listeners run later in the inbox (`bot.inbox`). Commands and interactivity
pass on to their listeners, which acknowledge them.

A signed request is accepted once, whichever replica it reaches. Slack's signature proves who sent a
request and when, and Bolt refuses one more than five minutes old; within those five minutes,
though, anyone who captured a request (a proxy's log, a leaked dump) could send it again, and the
app would handle it again: a second comment flagged, a second snapshot recorded. Slack signs each
delivery when it sends it, its retries included, so the same signature twice is never Slack. Each
accepted signature is therefore remembered in the database, shared by every replica, for longer than
Bolt's window; a request whose signature is already there gets 401 and reaches no listener.

Socket Mode requests come over the app's own authenticated connection, unsigned, and pass through.

An event that can't change the ledger (`bot.relevance`: chatter, a reply under an untracked message, a
reaction no channel uses) is acknowledged before any of that, with nothing written and no listener
run, only counted. Its replay would be ignored just the same, so its signature needs no row: the guard
covers commands, interactions and relevant events.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.inbox import Claim, Inbox, event_key
from bot.relevance import IgnoredCount, Tracked, ignored_because
from storage.signatures import forget_requests_before, remember_request

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-slack-signature"
# Bolt refuses a timestamp more than five minutes from its clock; a minute more covers the skew
# between replicas' clocks, so that every replay Bolt lets through still finds its row.
REMEMBER = timedelta(minutes=6)
# Rows are purged once this old: well past REMEMBER, so that a replica whose clock runs ahead
# never deletes a row another replica still needs.
PURGE_AFTER = REMEMBER + timedelta(minutes=4)
# Each replica purges at most this often, piggybacking on a request rather than running a job.
PURGE_EVERY = timedelta(minutes=1)
UNKNOWN_TEAM = "-"


def request_team(body: dict[str, Any]) -> str:
    """The workspace a request body names (events, commands, interactions), or "-" when it names none."""
    team = body.get("team_id")
    if not team and isinstance(body.get("team"), dict):
        team = body["team"].get("id")
    return team if isinstance(team, str) and 0 < len(team) <= 32 else UNKNOWN_TEAM


def signature_of(req: BoltRequest) -> str | None:
    """The request's `X-Slack-Signature`, or None when it came unsigned (Socket Mode)."""
    if req.mode == "socket_mode":
        return None
    values = req.headers.get(SIGNATURE_HEADER) or []
    return values[0] if values and values[0] else None


def acknowledge(
    sessions: sessionmaker[Session],
    clock: Clock,
    inbox: Inbox | None = None,
    *,
    tracked: Tracked | None = None,
    ignored: IgnoredCount | None = None,
) -> Callable[..., BoltResponse | None]:
    """Global Bolt middleware, to run right after signature verification: 401 for a signature seen
    before; an event claimed and acknowledged (400 for one that names no workspace or event id);
    anything else on to its listener. With ``tracked``, an event that can't change the ledger is
    acknowledged with no write, and counted in ``ignored``.

    The signature is recorded (and committed) before any listener runs, so a replay racing the
    original to another replica loses on the unique constraint. With ``inbox``, an event is claimed
    in that same transaction and acknowledged at once: one commit stands between Slack and its 200.
    """
    purge = _Purge(sessions, clock)

    def refuse_replays(
        req: BoltRequest, body: dict[str, Any], next_: Callable[[], None]
    ) -> BoltResponse | None:
        signature = signature_of(req)
        if inbox is not None and body.get("type") == "event_callback" and event_key(body) is None:
            # Slack names the workspace and the event in every delivery; without them an event can't
            # be handled exactly once, and its listeners run only in the events app, behind a claim.
            logger.warning("refused an event that names no workspace or event id")
            return BoltResponse(status=400, body="")
        event = inbox is not None and event_key(body) is not None
        if event and tracked is not None:
            reason = ignored_because(body, tracked)
            if reason is not None:
                if ignored is not None:
                    ignored.add(reason)
                return BoltResponse(status=200, body="")
        if signature is None and not event:
            next_()
            return None
        now = clock()
        claim: Claim | None = None
        with sessions.begin() as s:
            first = signature is None or remember_request(s, request_team(body), signature, now)
            if first and inbox is not None and event:
                # Raises if it can't be committed: Slack gets a 500 and delivers the event again.
                claim = inbox.claim(s, body, now)
        if not first:
            logger.warning("refused a replayed request for %s", request_team(body))
            return BoltResponse(status=401, body="")
        if signature is not None:
            purge.maybe()
        if not event:
            next_()
            return None
        if claim is not None and inbox is not None:
            inbox.submit(claim)
        return BoltResponse(status=200, body="")

    return refuse_replays


class _Purge:
    """Deletes old signatures now and then, from whichever request comes along."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock
        self._lock = threading.Lock()
        self._last: datetime | None = None

    def maybe(self) -> None:
        now = self._clock()
        with self._lock:
            if self._last is not None and now - self._last < PURGE_EVERY:
                return
            self._last = now
        try:
            with self._sessions.begin() as s:
                gone = forget_requests_before(s, now - PURGE_AFTER)
        except SQLAlchemyError:
            # The request itself is fine and recorded; the rows wait for the next purge.
            logger.exception("purging old request signatures failed")
            return
        if gone:
            logger.debug("forgot %d request signatures older than %s", gone, PURGE_AFTER)
