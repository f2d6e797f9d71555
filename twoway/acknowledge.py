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
from storage.signatures import forget_requests_before
from twoway.group_commit import GroupCommit

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
    on_commit: Callable[[int], None] | None = None,
) -> Callable[..., BoltResponse | None]:
    """Global Bolt middleware, to run right after signature verification: 401 for a signature seen
    before; an event claimed and acknowledged (400 for one that names no workspace or event id);
    anything else on to its listener. With ``tracked``, an event that can't change the ledger is
    acknowledged with no write, and counted in ``ignored``.

    The signature is recorded (and committed) before any listener runs, so a replay racing the
    original to another replica loses on the unique constraint. With ``inbox``, an event is claimed
    in that same transaction and acknowledged at once: one commit stands between Slack and its 200,
    shared with the requests that arrived while the last one was written (`twoway.group_commit`).
    ``on_commit`` hears the number of requests each of those commits wrote.
    """
    purge = _Purge(sessions, clock)
    engine = sessions.kw["bind"]
    group = GroupCommit(engine, clock, inbox.replica if inbox is not None else UNKNOWN_TEAM, on_commit)

    def refuse_replays(
        req: BoltRequest, body: dict[str, Any], next_: Callable[[], None]
    ) -> BoltResponse | None:
        signature = signature_of(req)
        key = event_key(body) if inbox is not None else None
        if inbox is not None and body.get("type") == "event_callback" and key is None:
            # Slack names the workspace and the event in every delivery; without them an event can't
            # be handled exactly once, and its listeners run only in the events app, behind a claim.
            logger.warning("refused an event that names no workspace or event id")
            return BoltResponse(status=400, body="")
        if key is not None and tracked is not None:
            reason = ignored_because(body, tracked)
            if reason is not None:
                if ignored is not None:
                    ignored.add(reason)
                return BoltResponse(status=200, body="")
        if signature is None and key is None:
            next_()
            return None
        # Raises if it can't be committed: Slack gets a 500 and delivers the event again.
        admitted = group.admit(request_team(body), signature, key, body)
        if not admitted.first:
            logger.warning("refused a replayed request for %s", request_team(body))
            return BoltResponse(status=401, body="")
        if signature is not None:
            purge.maybe()
        if key is None or inbox is None:
            next_()
            return None
        if admitted.claimed and admitted.at is not None:
            inbox.submit(Claim(*key, body, admitted.at, attempt=1))
            return BoltResponse(status=200, body="")
        # Claimed before: by an earlier delivery, perhaps to a replica that died since.
        with sessions.begin() as s:
            claim = inbox.take_over(s, body, clock())
        if claim is not None:
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
