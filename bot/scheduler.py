"""When digests and nudges run: APScheduler jobs derived from the channels' settings in the database.

The database is the source of truth. ``sync_all`` derives one cron job per channel with digests
on that twoway is in and that is not archived (``Channel.active``); ``sync_channel`` re-derives one
channel's after a settings change or a channel event, so the change takes effect without a restart.
Every replica runs the same jobs: the claims in ``bot.publish``, ``bot.nudges`` and ``bot.asks`` make
sure each digest, nudge and ask for missing numbers is posted once whoever fires first.

Digest jobs run in an executor of their own: a slot that hundreds of channels share queues their
jobs there, paced by the publisher within Slack's limits, while the sweep and the inbox's recovery
keep their turn in the default executor. Its threads take the workspaces in turn (`bot.fair_pool`):
a workspace waiting on its own limits holds a few of them, and every other workspace's digests go
out meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfoNotFoundError

from apscheduler.executors.pool import BasePoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from bot import departures, ledger
from bot.asks import Asker
from bot.claims import Releaser
from bot.digest.period import CATCH_UP_WINDOW, period_for
from bot.digest.publish import Outcome, Publisher
from bot.fair_pool import FairPool
from bot.inbox import Inbox
from bot.nudges import Nudger
from bot.refresh import Refresher
from bot.resolver import LinkResolver
from bot.weekly import WeeklyDms
from bot.zones import zone as iana_zone
from storage.channels import all_team_ids, get_channel, team_channels
from storage.models import Channel

logger = logging.getLogger(__name__)

DIGEST_JOB_PREFIX = "digest:"
SWEEP_JOB_ID = "sweep"
INBOX_JOB_ID = "inbox"
CATCH_UP_JOB_ID = "catch-up"
LINKS_JOB_ID = "links"
REFRESH_JOB_ID = "refresh"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIGEST_EXECUTOR = "digests"
# Threads posting digests at once. The publisher's pacer, not this, sets the pace of a fan-out:
# these only need to keep Slack's limits busy while others compose, and they never hold a
# database connection while they wait their turn. Most of them sleep until their workspace's
# turn, and a sleeping thread costs a stack and nothing else, so there are enough for several
# workspaces' digests to wait side by side.
DIGEST_WORKERS = 16
# One workspace's digests running at once: enough to keep its own limits busy while one composes
# and another draws, few enough that the other workspaces of the slot always find a free thread.
DIGEST_PER_WORKSPACE = 4


def digest_job_id(team_id: str, channel_id: str) -> str:
    return f"{DIGEST_JOB_PREFIX}{team_id}:{channel_id}"


def digest_trigger(channel: Channel) -> CronTrigger:
    """The channel's weekly slot as a cron trigger in its own time zone (DST handled by APScheduler)."""
    hour, minute = divmod(channel.digest_minute, 60)
    return CronTrigger(
        day_of_week=WEEKDAYS[channel.digest_weekday],
        hour=hour,
        minute=minute,
        timezone=iana_zone(channel.timezone),
    )


def _same_trigger(a: object, b: CronTrigger) -> bool:
    return isinstance(a, CronTrigger) and (str(a), str(a.timezone)) == (str(b), str(b.timezone))


def known_teams(sessions: sessionmaker[Session]) -> Callable[[], list[str]]:
    """``teams`` for ``Schedules``: every workspace with a channel twoway knows, but those that removed
    twoway (their ledgers wait for their purge)."""

    def teams() -> list[str]:
        away = departures.away(sessions)
        with sessions.begin() as s:
            return [team_id for team_id in all_team_ids(s) if team_id not in away]

    return teams


def _job_team(job: Job, *run: object) -> str:
    """The workspace of a digest job as APScheduler hands it to its pool (``run_job``'s arguments)."""
    return str(job.args[0])


class DigestExecutor(BasePoolExecutor):
    """APScheduler's pool executor over a `FairPool` keyed by workspace. On the scheduler's shutdown the
    jobs already handed to it still run, as in APScheduler's own thread pool, and are waited for: a
    digest job is claimed and posted in one go, and the done callback expects a result, not a
    cancellation."""

    def __init__(self) -> None:
        super().__init__(
            FairPool(DIGEST_WORKERS, DIGEST_PER_WORKSPACE, _job_team, thread_name_prefix="twoway-digests")
        )


class Schedules:
    """The scheduler of one replica: a digest job per channel, and the sweep of nudges, asks and retries."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        publisher: Publisher,
        nudger: Nudger,
        teams: Callable[[], list[str]],
        *,
        sweep_every: timedelta = timedelta(minutes=5),
        scheduler: BaseScheduler | None = None,
        inbox: Inbox | None = None,
        asker: Asker | None = None,
        links: LinkResolver | None = None,
        refresher: Refresher | None = None,
        refresh_every: timedelta = timedelta(seconds=5),
        releaser: Releaser | None = None,
        weekly: WeeklyDms | None = None,
    ) -> None:
        self._sessions = sessions
        self._releaser = releaser
        self._weekly = weekly
        self._inbox = inbox
        self._asker = asker
        self._links = links
        self._refresher = refresher
        self._refresh_every = refresh_every
        self._publisher = publisher
        self._nudger = nudger
        self._teams = teams
        self._sweep_every = sweep_every
        self.scheduler: BaseScheduler = scheduler or BackgroundScheduler(timezone=UTC)
        self.scheduler.add_executor(DigestExecutor(), alias=DIGEST_EXECUTOR)
        # sync_all and sync_channel compare a job with the database, then change it; one at a time.
        self._sync_lock = threading.Lock()

    def start(self) -> None:
        """Derive the jobs, start the scheduler, and catch up on digests missed while nobody ran."""
        self.sync_all()
        self.scheduler.add_job(
            self.run_sweep,
            IntervalTrigger(seconds=self._sweep_every.total_seconds(), timezone=UTC),
            id=SWEEP_JOB_ID,
            name="nudges and failed digests",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            # A sweep that missed its turn is simply the next one.
            misfire_grace_time=max(1, int(self._sweep_every.total_seconds())),
        )
        if self._inbox is not None:
            # Twice a lease: an event a dead replica held is handled again within three leases.
            every = max(1.0, self._inbox.lease.total_seconds() / 2)
            self.scheduler.add_job(
                self.run_inbox,
                IntervalTrigger(seconds=every, timezone=UTC),
                id=INBOX_JOB_ID,
                name="events left unfinished",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(every)),
            )
        if self._links is not None:
            # A job of its own: a slow link server must not hold up the nudges.
            self.scheduler.add_job(
                self.run_links,
                IntervalTrigger(seconds=self._sweep_every.total_seconds(), timezone=UTC),
                id=LINKS_JOB_ID,
                name="short links",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(self._sweep_every.total_seconds())),
            )
        if self._refresher is not None:
            every = self._refresh_every.total_seconds()
            self.scheduler.add_job(
                self.run_refresh,
                IntervalTrigger(seconds=every, timezone=UTC),
                id=REFRESH_JOB_ID,
                name="messages drawn again",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(every)),
            )
        # In the scheduler's threads, so that startup does not wait on Slack.
        self.scheduler.add_job(
            self.catch_up_all,
            id=CATCH_UP_JOB_ID,
            name="digest catch-up",
            replace_existing=True,
            misfire_grace_time=None,
        )
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop firing jobs and wait for running ones, so that no claim is left half done."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def sync_all(self) -> None:
        """Make the digest jobs match every channel's settings: add, reschedule, and remove."""
        with self._sync_lock:
            wanted: dict[str, Channel] = {}
            for team_id in self._teams():
                with self._sessions.begin() as s:
                    for channel in team_channels(s, team_id):
                        if channel.digest_enabled and channel.active:
                            wanted[digest_job_id(team_id, channel.channel_id)] = channel
            for job in self.scheduler.get_jobs():
                if job.id.startswith(DIGEST_JOB_PREFIX) and job.id not in wanted:
                    self.scheduler.remove_job(job.id)
            for channel in wanted.values():
                self._schedule(channel)

    def sync_channel(self, team_id: str, channel_id: str) -> None:
        """Add, reschedule or remove one channel's digest job after its settings changed."""
        with self._sync_lock:
            with self._sessions.begin() as s:
                channel = get_channel(s, team_id, channel_id)
            if channel is not None and channel.digest_enabled and channel.active:
                self._schedule(channel)
                return
            with contextlib.suppress(JobLookupError):
                self.scheduler.remove_job(digest_job_id(team_id, channel_id))

    def _schedule(self, channel: Channel) -> None:
        job_id = digest_job_id(channel.team_id, channel.channel_id)
        try:
            trigger = digest_trigger(channel)
        except (ZoneInfoNotFoundError, ValueError):
            logger.exception("no digest job for %s/%s: bad schedule", channel.team_id, channel.channel_id)
            return
        job = self.scheduler.get_job(job_id)
        if job is not None:
            # Replacing an unchanged job would recompute its next run from now and could skip a slot
            # that is firing this very moment.
            if not _same_trigger(job.trigger, trigger):
                self.scheduler.reschedule_job(job_id, trigger=trigger)
            return
        self.scheduler.add_job(
            self.run_digest,
            trigger,
            args=[channel.team_id, channel.channel_id],
            id=job_id,
            name=f"digest of {channel.team_id}/{channel.channel_id}",
            executor=DIGEST_EXECUTOR,
            coalesce=True,
            max_instances=1,
            # A stalled scheduler still posts within a day; later than that, the next digest says so.
            misfire_grace_time=int(CATCH_UP_WINDOW.total_seconds()),
        )

    def run_digest(self, team_id: str, channel_id: str) -> Outcome | None:
        """The digest job: publish the latest slot of the channel's schedule now; None if digests are off,
        or twoway has left the channel, or it is archived."""
        with self._sessions.begin() as s:
            channel = get_channel(s, team_id, channel_id)
        if channel is None or not channel.digest_enabled or not channel.active:
            return None
        return self._publisher.publish_digest(
            team_id, channel_id, period_for(channel, self._publisher.clock())
        )

    def catch_up_all(self) -> None:
        """Publish every channel's digest whose slot passed under a day ago without one.

        Channels are caught up side by side, ``DIGEST_WORKERS`` at a time and the workspaces in turn,
        as a Monday's own jobs would be: a restart after a missed Monday is paced by Slack's limits,
        not by each channel waiting for the one before, nor each workspace for the one before. (In
        threads of its own: a job that added jobs would deadlock with a scheduler shutting down.)
        """
        channels: list[Channel] = []
        for team_id in self._teams():
            with self._sessions.begin() as s:
                channels += [c for c in team_channels(s, team_id) if c.digest_enabled and c.active]
        pool = FairPool(
            DIGEST_WORKERS,
            DIGEST_PER_WORKSPACE,
            lambda channel: channel.team_id,
            thread_name_prefix="twoway-catch-up",
        )
        with pool:
            for channel in channels:
                pool.submit(self._catch_up, channel)

    def _catch_up(self, channel: Channel) -> None:
        try:
            self._publisher.catch_up(
                channel.team_id,
                channel.channel_id,
                weekday=channel.digest_weekday,
                minute=channel.digest_minute,
                zone=channel.timezone,
                enabled=channel.digest_enabled,
            )
        except Exception:
            # One broken channel must not cost the others their digest.
            logger.exception("catch-up of %s/%s failed", channel.team_id, channel.channel_id)

    def run_inbox(self) -> None:
        """Handle events whose replica died or failed them, and forget long-handled ones, for every team;
        forget old ones too for the teams that removed twoway."""
        if self._inbox is None:
            return
        teams = self._teams()
        for team_id in teams:
            try:
                self._inbox.recover(team_id)
                self._inbox.purge(team_id)
            except Exception:
                logger.exception("recovering the events of %s failed", team_id)
        try:
            for team_id in sorted(departures.away(self._sessions) - set(teams)):
                self._inbox.purge(team_id)
        except Exception:
            logger.exception("forgetting the events of workspaces that removed twoway failed")

    def run_refresh(self) -> None:
        """Draw again the messages whose comments changed (`bot.refresh`)."""
        if self._refresher is None:
            return
        try:
            self._refresher.run()
        except Exception:
            logger.exception("drawing stale messages again failed")

    def refresh_soon(self) -> None:
        """Run the refresher now rather than at its next turn, without waiting for it: a click's change
        shows in the digest within seconds. A run under way looks again before it ends."""
        if self._refresher is None or not self.scheduler.running:
            return
        job = self.scheduler.get_job(REFRESH_JOB_ID)
        # A paused job (no next run) stays paused.
        if job is not None and job.next_run_time is not None:
            with contextlib.suppress(JobLookupError):
                job.modify(next_run_time=datetime.now(UTC))

    def run_links(self) -> None:
        """Resolve the short links of every team's posts that are due (`bot.resolver`)."""
        if self._links is None:
            return
        for team_id in self._teams():
            try:
                self._links.run(team_id)
            except Exception:
                logger.exception("resolving the short links of %s failed", team_id)

    def run_sweep(self) -> None:
        """Re-derive the digest jobs, send due nudges and people's weekly direct messages, release lapsed
        claims, ask for missing numbers, retry failed digests and forget old kept messages, for every team,
        now; then purge the ledgers of the workspaces that left 30 days ago.

        Re-deriving the jobs each sweep is what carries a change made on another replica (a schedule
        set, twoway removed from a channel) to this one's jobs, and what gives a channel first met
        through a message, not through twoway joining it, its digest.
        """
        try:
            self.sync_all()
        except Exception:
            logger.exception("re-deriving the digest jobs failed")
        for team_id in self._teams():
            try:
                self._nudger.sweep(team_id)
            except Exception:
                logger.exception("the nudge sweep of %s failed", team_id)
            try:
                if self._releaser is not None:
                    self._releaser.sweep(team_id)
            except Exception:
                logger.exception("releasing the lapsed claims of %s failed", team_id)
            try:
                if self._weekly is not None:
                    self._weekly.sweep(team_id)
            except Exception:
                logger.exception("the weekly direct messages of %s failed", team_id)
            try:
                if self._asker is not None:
                    self._asker.sweep(team_id)
            except Exception:
                logger.exception("asking for the missing numbers of %s failed", team_id)
            try:
                self._publisher.retry(team_id)
            except Exception:
                logger.exception("retrying the digests of %s failed", team_id)
            try:
                with self._sessions.begin() as s:
                    ledger.forget_old_messages(s, team_id, self._publisher.clock())
            except Exception:
                logger.exception("forgetting the old messages of %s failed", team_id)
        try:
            if self._refresher is not None:
                self._refresher.purge()
        except Exception:
            logger.exception("forgetting old posted messages failed")
        try:
            departures.purge_departed(self._sessions, self._publisher.clock())
        except Exception:
            logger.exception("purging the ledgers of workspaces that left failed")
