"""Posting each channel's digest exactly once, however often and wherever the job fires.

APScheduler cannot coordinate processes, so the database does: a replica claims the period's
``digest_runs`` row, then posts, then records the message ts. A claim left behind by a crash
(older than the lease) or a failed post is taken over by one replica with a conditional UPDATE;
the taker first looks for the digest in the channel's history (by its message metadata) and
records it instead of posting again. Its calls are paced with every replica's (`bot.posting`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot import live
from bot.digest.blocks import digest_metadata
from bot.digest.chart import ChartData, render_chart
from bot.digest.compose import ComposedDigest, SlackLookups, digest_recipe
from bot.digest.period import CATCH_UP_WINDOW, Period, Slot, period_for
from bot.nudges import fold_into_digest
from bot.people import People
from bot.posting import (
    HISTORY_METHODS,
    MAX_POST_ATTEMPTS,
    SLACK_FAILURES,
    UPLOAD_METHODS,
    Pacer,
    describe_failure,
    find_message,
    has_metadata,
    post_once,
)
from storage.digest_runs import (
    claim_run,
    get_run,
    record_run_failed,
    record_run_posted,
    runs_to_retry,
    take_over_run,
)

logger = logging.getLogger(__name__)

# The history search starts this long before the period's end, in case Slack's clock is behind ours.
HISTORY_MARGIN = timedelta(hours=1)
CHART_FILENAME = "twoway-digest.png"

Composer = Callable[[Session, str, str, Period, datetime], ComposedDigest]
# Draws a chart's PNG; None when it has nothing to show.
ChartDrawer = Callable[[ChartData], bytes | None]

OutcomeStatus = Literal["posted", "already_posted", "found_after_crash", "in_progress", "failed"]


@dataclass(frozen=True)
class Outcome:
    """What one call did: ``ts`` of the digest when it is in the channel, ``error`` when it failed."""

    status: OutcomeStatus
    ts: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class _Claim:
    run_id: int
    claimed_at: datetime
    # A claim taken over from a crashed or failed attempt may have posted already.
    search_first: bool


@dataclass(frozen=True)
class Publisher:
    """Posts digests under claims in ``digest_runs``; safe to call from any thread or replica."""

    sessions: sessionmaker[Session]
    client_for: Callable[[str], WebClient]
    compose: Composer
    replica: str
    clock: Callable[[], datetime]
    lease: timedelta = timedelta(minutes=5)
    # The pace of Slack calls shared by every replica; None for Slack's own limits, in ``sessions``.
    pacer: Pacer | None = None
    # Called with no session open (see _post).
    draw_chart: ChartDrawer = render_chart
    # Each workspace's members, for the names the digest shows in place of mentions.
    people: People = field(default_factory=People)

    def publish_digest(self, team_id: str, channel_id: str, period: Period) -> Outcome:
        """Post the channel's digest for ``period`` unless it is posted or being posted.

        The channel must exist. Returns what happened, with the digest's ts when it is in Slack.
        """
        now = self.clock()
        with self.sessions.begin() as s:
            run = claim_run(
                s,
                team_id,
                channel_id,
                period_start=period.start,
                period_end=period.end,
                replica=self.replica,
                now=now,
            )
            search_first = False
            if run is None:
                run = take_over_run(
                    s,
                    team_id,
                    self._run_id(s, team_id, channel_id, period),
                    replica=self.replica,
                    now=now,
                    stale_before=now - self.lease,
                    max_attempts=MAX_POST_ATTEMPTS,
                )
                if run is None:
                    return self._standing(s, team_id, channel_id, period)
                search_first = True
            claim = _Claim(run.id, run.claimed_at, search_first)
        return self._post(team_id, channel_id, period, claim)

    def catch_up(
        self, team_id: str, channel_id: str, *, weekday: int, minute: int, zone: str, enabled: bool
    ) -> Outcome | None:
        """Publish the latest slot's digest if it is under a day old and unposted; None if nothing to do."""
        if not enabled:
            return None
        now = self.clock()
        period = period_for(Slot(weekday, minute, zone), now)
        if now - period.end > CATCH_UP_WINDOW:
            return None
        with self.sessions.begin() as s:
            run = get_run(s, team_id, channel_id, period.start)
            if run is not None and run.state == "posted":
                return None
        return self.publish_digest(team_id, channel_id, period)

    def retry(self, team_id: str) -> list[Outcome]:
        """Retry the team's failed digests, and those a dead replica left claimed, under a day late."""
        now = self.clock()
        with self.sessions.begin() as s:
            periods = [
                (run.channel_id, Period(start=run.period_start, end=run.period_end))
                for run in runs_to_retry(
                    s,
                    team_id,
                    stale_before=now - self.lease,
                    ended_after=now - CATCH_UP_WINDOW,
                    max_attempts=MAX_POST_ATTEMPTS,
                )
            ]
        outcomes = []
        for channel_id, period in periods:
            try:
                outcomes.append(self.publish_digest(team_id, channel_id, period))
            except Exception:
                # One channel's trouble must not cost the others their digest.
                logger.exception("retrying the digest of %s/%s failed", team_id, channel_id)
        return outcomes

    def _run_id(self, s: Session, team_id: str, channel_id: str, period: Period) -> int:
        run = get_run(s, team_id, channel_id, period.start)
        assert run is not None, "the claim lost to this row"
        return run.id

    def _standing(self, s: Session, team_id: str, channel_id: str, period: Period) -> Outcome:
        run = get_run(s, team_id, channel_id, period.start)
        assert run is not None, "the claim lost to this row"
        s.refresh(run)
        if run.state == "posted":
            return Outcome("already_posted", run.message_ts)
        if run.state == "claimed":
            return Outcome("in_progress")
        return Outcome("failed", error=run.error)

    def _post(self, team_id: str, channel_id: str, period: Period, claim: _Claim) -> Outcome:
        try:
            return self._post_claimed(team_id, channel_id, period, claim)
        except Exception as error:
            # Anything unforeseen fails the claim, as a failed post does: retried by the next sweeps
            # (searching the channel first), then left failed, never retaken and raising every lease.
            logger.exception("the digest of %s/%s failed", team_id, channel_id)
            return self._fail(team_id, channel_id, claim, f"internal: {error!r}")

    def _post_claimed(self, team_id: str, channel_id: str, period: Period, claim: _Claim) -> Outcome:
        client = self.client_for(team_id)
        metadata = digest_metadata(team_id, channel_id, period)
        pacer = self.pacer or Pacer(self.sessions)
        if claim.search_first:
            pacer.wait(team_id, HISTORY_METHODS[0])
            try:
                found = find_message(
                    client,
                    channel_id,
                    oldest=period.end - HISTORY_MARGIN,
                    matches=has_metadata(metadata),
                )
            except SLACK_FAILURES as error:
                return self._fail(team_id, channel_id, claim, f"history: {describe_failure(error)}")
            if found is not None:
                self._record(
                    team_id, channel_id, period, claim, found, self._listed(team_id, channel_id, period)
                )
                logger.info(
                    "digest of %s/%s was posted before a crash; recorded %s", team_id, channel_id, found
                )
                return Outcome("found_after_crash", found)
        try:
            with self.sessions() as s:
                composed = self.compose(s, team_id, channel_id, period, self.clock())
            composed = composed.looked_up(SlackLookups(client, team_id, self.people))
        except Exception as error:
            # A composer bug must not leave the claim to be retaken (and fail again) every lease.
            logger.exception("composing the digest of %s/%s failed", team_id, channel_id)
            return self._fail(team_id, channel_id, claim, f"compose: {error!r}")
        # Drawn once the session is closed: drawing is most of a digest's CPU time, and on SQLite
        # every other thread of the process would wait for the one pooled connection meanwhile.
        png = self._draw(team_id, channel_id, composed.chart)
        try:
            ts = post_once(
                client,
                pacer,
                team_id,
                search_from=period.end - HISTORY_MARGIN,
                metadata=metadata,
                channel=channel_id,
                text=composed.message["text"],
                blocks=composed.message.get("blocks"),
            )
        except SLACK_FAILURES as error:
            return self._fail(team_id, channel_id, claim, describe_failure(error))
        self._record(team_id, channel_id, period, claim, ts, composed.comment_ids, folded=composed.folded)
        if png:
            pacer.wait(team_id, *UPLOAD_METHODS)
            self._upload_chart(client, channel_id, ts, png)
        return Outcome("posted", ts)

    def _draw(self, team_id: str, channel_id: str, chart: ChartData | None) -> bytes | None:
        """The chart's PNG; None when there is no chart, or drawing it failed."""
        if chart is None:
            return None
        try:
            return self.draw_chart(chart)
        except Exception:
            # The chart is an extra, in the digest's thread: the digest goes without it.
            logger.exception("the chart of the digest of %s/%s was not drawn", team_id, channel_id)
            return None

    def _listed(self, team_id: str, channel_id: str, period: Period) -> tuple[int, ...]:
        """The comments the digest found after a crash lists, as far as the ledger can say now."""
        try:
            with self.sessions() as s:
                return self.compose(s, team_id, channel_id, period, self.clock()).comment_ids
        except Exception:
            logger.exception("composing the digest of %s/%s failed", team_id, channel_id)
            return ()

    def _record(
        self,
        team_id: str,
        channel_id: str,
        period: Period,
        claim: _Claim,
        ts: str,
        comment_ids: Collection[int],
        *,
        folded: tuple[tuple[int, int], ...] = (),
    ) -> None:
        with self.sessions.begin() as s:
            now = self.clock()
            kept = record_run_posted(
                s, team_id, claim.run_id, claimed_at=claim.claimed_at, message_ts=ts, now=now
            )
            if kept:
                # Kept up to date as its comments change (`bot.refresh`).
                live.remember(
                    s,
                    team_id,
                    channel_id=channel_id,
                    ts=ts,
                    kind="digest",
                    recipe=digest_recipe(channel_id, period, comment_ids),
                    comment_ids=comment_ids,
                    now=now,
                )
                # In the run's own transaction: a sweep that sees the digest posted sees what it carried.
                fold_into_digest(s, team_id, folded, ts, now)
        if not kept:
            logger.warning(
                "digest %s of %s/%s was posted after its claim expired and was taken over",
                ts,
                team_id,
                channel_id,
            )

    def _fail(self, team_id: str, channel_id: str, claim: _Claim, error: str) -> Outcome:
        logger.warning("digest of %s/%s not posted: %s", team_id, channel_id, error)
        with self.sessions.begin() as s:
            record_run_failed(s, team_id, claim.run_id, claimed_at=claim.claimed_at, error=error)
        return Outcome("failed", error=error)

    def _upload_chart(self, client: WebClient, channel_id: str, ts: str, png: bytes) -> None:
        # The digest is posted and recorded: a lost chart is logged, never a reason to post again.
        try:
            client.files_upload_v2(
                channel=channel_id,
                thread_ts=ts,
                content=png,
                filename=CHART_FILENAME,
                title="This week's conversation",
            )
        except SLACK_FAILURES as error:
            logger.warning(
                "the chart of digest %s in %s was not uploaded: %s", ts, channel_id, describe_failure(error)
            )
