"""The refresher: every message twoway posted about comments is drawn again with ``chat.update`` once
one of its comments changed, so that a digest, a nudge or a notice never offers a button on a comment
someone already answered.

A change marks the messages showing the comment stale in its own transaction (`bot.live`). Any replica
then claims a stale message with a lease (`storage.posted_messages.claim_stale`, one conditional
UPDATE, so that two replicas never update one message at once), draws it again by its kind from the
ledger as it is now, and calls ``chat.update`` at the pace every replica shares (`bot.posting.Pacer`;
chat.update is Tier 3). The message is clean again only if nothing changed since it was claimed: a
change during the update leaves it stale, for another update. A failed update is tried again a few
times with a backoff, then left with its error; a message Slack no longer has, or no longer lets
twoway change, is forgotten.

It runs as a job every few seconds on every replica, and right after a click, command or reaction
changed a comment (`bot.scheduler.Schedules.refresh_soon`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.claims import names_of
from bot.digest.compose import ComposedDigest, SlackLookups, redraw_digest
from bot.flagging import redraw_notice
from bot.live import KEEP_POSTED
from bot.nudges import redraw_nudge
from bot.people import People
from bot.posting import CHAT_UPDATE, SLACK_FAILURES, Pacer, describe_failure
from bot.render import Message
from bot.slack_calls import retry_after
from bot.weekly import redraw_weekly_dm
from storage.posted_messages import (
    claim_stale,
    forget_message,
    forget_messages_before,
    get_message,
    recipe_of,
    release_failed,
    settle_refreshed,
    stale_message_ids,
)

logger = logging.getLogger(__name__)

# Draws a message again from its recipe, as the ledger is now; None when there is nothing to draw.
# A digest comes back composed, to be told with Slack's names and links once its session is closed.
# Each is given the names Slack shows for the workspace's people, to name whoever is on a comment
# without a ping.
Redraw = Callable[
    [Session, str, dict[str, Any], datetime, Mapping[str, str]], Message | ComposedDigest | None
]

REDRAWS: Mapping[str, Redraw] = {
    "notice": redraw_notice,
    "nudge": redraw_nudge,
    "digest": redraw_digest,
    "dm": redraw_weekly_dm,
}
# Answers after which the message can't be updated ever again (deleted, not twoway's, its channel gone
# or archived: docs.slack.dev/reference/methods/chat.update): it is forgotten.
GONE = frozenset({"message_not_found", "cant_update_message", "channel_not_found", "is_archived"})
# Tries of one change's update before it is left with its error; the wait doubles after each.
MAX_REFRESH_ATTEMPTS = 5
FIRST_BACKOFF = timedelta(seconds=10)

RefreshStatus = Literal["updated", "still_stale", "unchanged", "forgotten", "failed", "lost"]


@dataclass(frozen=True)
class RefreshOutcome:
    """What the refresher did about one message."""

    message_id: int
    status: RefreshStatus
    error: str | None = None


@dataclass(frozen=True)
class _Claimed:
    team_id: str
    message_id: int
    channel_id: str
    ts: str
    kind: str
    recipe: dict[str, Any]
    claimed_at: datetime
    stale_since: datetime
    attempts: int


@dataclass(frozen=True)
class Refresher:
    """Draws stale messages again under claims in ``posted_messages``; safe to run from any thread or
    replica."""

    sessions: sessionmaker[Session]
    client_for: Callable[[str], WebClient]
    replica: str
    clock: Callable[[], datetime]
    lease: timedelta = timedelta(minutes=2)
    # The pace of Slack calls shared by every replica; None for Slack's own limits, in ``sessions``.
    pacer: Pacer | None = None
    redraws: Mapping[str, Redraw] = field(default_factory=lambda: REDRAWS)
    # Names of people, from each workspace's users.list (shared with the rest of the process).
    people: People = field(default_factory=People)
    # Messages looked for at once, and looks in one run: a change made during a run is found by the
    # next look, not the next run.
    batch: int = 50
    rounds: int = 5

    def run(self) -> list[RefreshOutcome]:
        """Draw every stale message nobody holds again, across workspaces; return what happened to each."""
        outcomes: list[RefreshOutcome] = []
        for _ in range(self.rounds):
            now = self.clock()
            with self.sessions.begin() as s:
                due = stale_message_ids(
                    s,
                    stale_before=now - self.lease,
                    posted_since=now - KEEP_POSTED,
                    max_attempts=MAX_REFRESH_ATTEMPTS,
                    limit=self.batch,
                )
            if not due:
                break
            for team_id, message_id in due:
                try:
                    outcome = self.refresh(team_id, message_id)
                except Exception:
                    # One message's trouble must not keep the others stale; its claim lapses.
                    logger.exception("drawing message %d of %s again failed", message_id, team_id)
                    continue
                if outcome is not None:
                    outcomes.append(outcome)
        return outcomes

    def refresh(self, team_id: str, message_id: int) -> RefreshOutcome | None:
        """Claim one stale message and draw it again; None when it wasn't this replica's to draw."""
        claimed = self._claim(team_id, message_id)
        if claimed is None:
            return None
        try:
            names = names_of(self.people, self.client_for(team_id), team_id)
            with self.sessions() as s:
                drawn = self.redraws[claimed.kind](s, team_id, claimed.recipe, self.clock(), names)
            if isinstance(drawn, ComposedDigest):
                drawn = drawn.looked_up(SlackLookups(self.client_for(team_id), team_id, self.people)).message
        except Exception as error:
            logger.exception("message %d of %s could not be drawn again", message_id, team_id)
            return self._fail(claimed, f"compose: {error!r}", self._backoff(claimed))
        if drawn is not None:
            pacer = self.pacer or Pacer(self.sessions)
            pacer.wait(team_id, CHAT_UPDATE)
            try:
                self.client_for(team_id).chat_update(
                    channel=claimed.channel_id, ts=claimed.ts, text=drawn["text"], blocks=drawn.get("blocks")
                )
            except SLACK_FAILURES as error:
                return self._failed_update(claimed, error, pacer)
        return self._settle(claimed, "updated" if drawn is not None else "unchanged")

    def purge(self) -> int:
        """Forget every workspace's messages older than KEEP_POSTED; return how many went."""
        with self.sessions.begin() as s:
            return forget_messages_before(s, self.clock() - KEEP_POSTED)

    def _claim(self, team_id: str, message_id: int) -> _Claimed | None:
        now = self.clock()
        with self.sessions.begin() as s:
            row = claim_stale(
                s,
                team_id,
                message_id,
                replica=self.replica,
                now=now,
                stale_before=now - self.lease,
                posted_since=now - KEEP_POSTED,
                max_attempts=MAX_REFRESH_ATTEMPTS,
            )
            if row is None or row.stale_since is None or row.claimed_at is None:
                return None
            return _Claimed(
                team_id,
                row.id,
                row.channel_id,
                row.ts,
                row.kind,
                recipe_of(row),
                row.claimed_at,
                row.stale_since,
                row.attempts,
            )

    def _settle(self, claimed: _Claimed, status: RefreshStatus) -> RefreshOutcome:
        with self.sessions.begin() as s:
            kept = settle_refreshed(
                s,
                claimed.team_id,
                claimed.message_id,
                replica=self.replica,
                claimed_at=claimed.claimed_at,
                drawn_stale_since=claimed.stale_since,
                now=self.clock(),
            )
            row = get_message(s, claimed.team_id, claimed.message_id)
            still = row is not None and row.stale_since is not None
        if not kept:
            logger.warning("message %d was drawn again after its claim lapsed", claimed.message_id)
            return RefreshOutcome(claimed.message_id, "lost")
        return RefreshOutcome(claimed.message_id, "still_stale" if still else status)

    def _failed_update(self, claimed: _Claimed, error: Exception, pacer: Pacer) -> RefreshOutcome:
        code = describe_failure(error)
        if code in GONE:
            logger.info("message %s in %s is gone (%s): forgotten", claimed.ts, claimed.channel_id, code)
            with self.sessions.begin() as s:
                forget_message(s, claimed.team_id, claimed.message_id)
            return RefreshOutcome(claimed.message_id, "forgotten", code)
        if code == "ratelimited" and isinstance(error, SlackApiError):
            # slack_sdk waited out Slack's 429s and got more: no replica updates before Slack said.
            wait = retry_after(error)
            pacer.hold(claimed.team_id, CHAT_UPDATE, wait)
            return self._fail(claimed, code, timedelta(seconds=wait))
        return self._fail(claimed, code, self._backoff(claimed))

    def _backoff(self, claimed: _Claimed) -> timedelta:
        return FIRST_BACKOFF * 2 ** max(0, claimed.attempts - 1)

    def _fail(self, claimed: _Claimed, error: str, wait: timedelta) -> RefreshOutcome:
        logger.warning(
            "message %s in %s not updated (try %d): %s",
            claimed.ts,
            claimed.channel_id,
            claimed.attempts,
            error,
        )
        with self.sessions.begin() as s:
            release_failed(
                s,
                claimed.team_id,
                claimed.message_id,
                replica=self.replica,
                claimed_at=claimed.claimed_at,
                retry_at=self.clock() + wait,
                lease=self.lease,
                error=error,
            )
        return RefreshOutcome(claimed.message_id, "failed", error)
