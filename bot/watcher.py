"""The watcher: fetches watched Bluesky and Mastodon posts when due, and records what their threads say.

``Watcher(sessions, readers, replica, clock, teams).run_once()`` does one round: for each workspace it
watches the posts not watched yet (`storage.watches.create_watches`), then fetches its due watches one
by one. ``start()`` runs a round every ``every`` (30 s) on a scheduler of its own, one round at a time,
and ``shutdown()`` stops it; the process that runs the watcher (``twoway run --role watch``) calls them.
``teams`` gives the workspaces to watch for, as it does for `bot.scheduler.Schedules`: the installations'
teams in distribution mode, else `bot.scheduler.known_teams`.
That process alone loads the networks' clients: this module names only `bot.threads`' types.

Each fetch is claimed first, in its own transaction (`claim_watch`: one conditional UPDATE, so that of
replicas running the same round exactly one fetches a post in a slot), with a lease: a replica that dies
mid-fetch leaves a claim another takes over once the lease has run out. No transaction is held across
a network call: the thread is fetched, replies the thread no longer lists are asked after
(`Reader.still_there`), and then one short transaction settles the claim and records the result. A
failed fetch records nothing in the ledger and closes, withdraws or loses no comment: it is tried again
after a backoff (1 minute doubling to an hour), or when the network said to (`RateLimited`), in which
case that network's other due watches wait until then too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.live import comments_changed, flag_withdrawn, showing
from bot.threads import FetchError, PostGone, RateLimited, Reader, Thread
from bot.watching import Counts, backoff, next_due, read_thread, slot_of, spread_of
from storage.comments import quotes_reply
from storage.snapshots import add_snapshot, latest_snapshot
from storage.watches import (
    DueWatch,
    add_fetched_comment,
    answer_fetched,
    claim_watch,
    create_watches,
    due_watches,
    fetched_comments,
    finish_watch,
    flagged_unseen,
    found_flagged,
    open_remote_ids,
    own_accounts,
    postpone_network,
    settle_failed,
    settle_fetched,
    withdraw_fetched,
)

logger = logging.getLogger(__name__)

WATCH_JOB_ID = "watch"
# A fetch that takes longer than this is presumed dead, and another replica may take it over.
FETCH_LEASE = timedelta(minutes=5)
# Due watches one workspace's round reads at a time.
ROUND_BATCH = 100


@dataclass
class Round:
    """What one round did: fetches that succeeded, failed, found their post gone, and were put off."""

    fetched: int = 0
    failed: int = 0
    gone: int = 0
    postponed: int = 0
    # Each network that said to wait, and until when.
    limited: dict[str, datetime] = field(default_factory=dict)


class Watcher:
    """Fetches due watches through one `Reader` per network, and records what they found."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        readers: Mapping[str, Reader],
        replica: str,
        clock: Clock,
        teams: Callable[[], list[str]],
        *,
        lease: timedelta = FETCH_LEASE,
        every: timedelta = timedelta(seconds=30),
    ) -> None:
        self.sessions = sessions
        self.readers = readers
        self.replica = replica
        self.clock = clock
        self.teams = teams
        self.lease = lease
        self.every = every
        self._scheduler: BackgroundScheduler | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Run a round now and every ``every`` after, on a thread of its own; a round that overruns
        delays the next rather than overlapping it."""
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_job(
            self._run_logged,
            IntervalTrigger(seconds=self.every.total_seconds(), timezone=UTC),
            id=WATCH_JOB_ID,
            next_run_time=datetime.now(UTC),
            max_instances=1,
            coalesce=True,
        )
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self) -> None:
        """Stop the rounds, waiting for one under way to finish."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None

    def _run_logged(self) -> None:
        try:
            self.run_once()
        except Exception:
            logger.exception("a watch round failed")

    def run_once(self) -> Round:
        """One round over every workspace: watch new posts, then fetch each due watch once."""
        with self._lock:
            done = Round()
            for team_id in self.teams():
                with self.sessions.begin() as s:
                    create_watches(s, team_id, now=self.clock())
                self._team_round(team_id, done)
            return done

    def _team_round(self, team_id: str, done: Round) -> None:
        now = self.clock()
        with self.sessions.begin() as s:
            due = due_watches(s, team_id, now=now, limit=ROUND_BATCH)
            for network, until in done.limited.items():
                # A network that said to wait during this round waits for every workspace.
                done.postponed += postpone_network(s, team_id, network, now=now, until=until)
        for watch in due:
            reader = self.readers.get(watch.network)
            if reader is None or watch.network in done.limited:
                continue
            try:
                self._fetch(team_id, watch, reader, done)
            except Exception:
                # One post's trouble (its claim lapses and it is tried again) never stops the others'.
                logger.exception("watching %s failed", watch.url)

    def _fetch(self, team_id: str, watch: DueWatch, reader: Reader, done: Round) -> None:
        now = self.clock()
        spread = spread_of(watch.post_id)
        slot = slot_of(watch.anchor_at, now, spread)
        with self.sessions.begin() as s:
            if slot is None:
                finish_watch(s, team_id, watch.id)
                return
            if not claim_watch(
                s, team_id, watch.id, slot=slot, replica=self.replica, now=now, lease=self.lease
            ):
                return
        try:
            thread = reader.thread(watch.url, watch.target)
        except PostGone as gone:
            self._failed(team_id, watch, now, f"post gone: {gone}", None)
            done.gone += 1
            return
        except RateLimited as limited:
            until = max(datetime.fromtimestamp(limited.retry_at, UTC), self.clock())
            self._failed(team_id, watch, now, f"rate limited until {until.isoformat()}", until)
            done.failed += 1
            self._wait(team_id, watch.network, until, done)
            return
        except Exception as error:
            # A FetchError, or a reader's own bug: either way, the fetch told nothing.
            if not isinstance(error, FetchError):
                logger.exception("reading %s failed", watch.url)
            retry = self.clock() + backoff(watch.attempts + 1)
            self._failed(team_id, watch, now, f"{type(error).__name__}: {error}", retry)
            done.failed += 1
            return
        still_there = self._still_there(team_id, watch, reader, thread, done)
        with self.sessions.begin() as s:
            anchor = thread.created_at
            anchored = slot_of(anchor, now, spread)
            # The slot under the post's own creation time; never one already fetched.
            kept = slot if anchored is None else max(slot, anchored)
            due = None if anchored is None else next_due(anchor, kept, spread)
            if not settle_fetched(
                s,
                team_id,
                watch.id,
                replica=self.replica,
                claimed_at=now,
                target=thread.target,
                anchor_at=anchor,
                slot=kept,
                due_at=due,
                now=self.clock(),
            ):
                logger.warning("the fetch of %s was taken over; its result is dropped", watch.url)
                return
            record_thread(s, team_id, watch, thread, still_there, now=self.clock())
        done.fetched += 1

    def _still_there(
        self, team_id: str, watch: DueWatch, reader: Reader, thread: Thread, done: Round
    ) -> set[str] | None:
        """Of the open comments the thread no longer lists, those its network still shows; None when
        that can't be told (then none is withdrawn)."""
        with self.sessions.begin() as s:
            missing = open_remote_ids(s, team_id, watch.post_id)
        missing -= {reply.id for reply in thread.replies_seen} | thread.hidden
        if not missing:
            return set()
        try:
            return set(reader.still_there(watch.url, sorted(missing)))
        except RateLimited as limited:
            self._wait(team_id, watch.network, datetime.fromtimestamp(limited.retry_at, UTC), done)
            return None
        except Exception as error:
            if not isinstance(error, FetchError):
                logger.exception("asking after replies to %s failed", watch.url)
            return None

    def _wait(self, team_id: str, network: str, until: datetime, done: Round) -> None:
        """The network said to wait until ``until``: its other due watches wait too, in this workspace
        now and in the others as the round reaches them."""
        done.limited[network] = until
        with self.sessions.begin() as s:
            done.postponed += postpone_network(s, team_id, network, now=self.clock(), until=until)

    def _failed(
        self, team_id: str, watch: DueWatch, claimed_at: datetime, error: str, due: datetime | None
    ) -> None:
        logger.info("fetching %s failed: %s", watch.url, error)
        with self.sessions.begin() as s:
            settle_failed(
                s, team_id, watch.id, replica=self.replica, claimed_at=claimed_at, error=error, due_at=due
            )


def record_thread(
    s: Session,
    team_id: str,
    watch: DueWatch,
    thread: Thread,
    still_there: Collection[str] | None,
    *,
    now: datetime,
) -> list[int]:
    """Record in the ledger what a fetched thread says of the watched post; return the ids of the
    comments it added or changed (or withdrew).

    ``still_there`` holds, of the open comments the thread no longer lists, those the network still
    shows; None when the network couldn't say, and then no comment is withdrawn.
    """
    post_host = urlsplit(watch.url).hostname or ""
    reading = read_thread(thread, own_accounts(s, team_id, watch.channel_id), post_host)
    _record_counts(s, team_id, watch, reading.counts, now=now)
    known = fetched_comments(s, team_id, watch.post_id)
    unseen = flagged_unseen(s, team_id, watch.post_id)
    changed: list[int] = []
    for seen in reading.audience:
        reply = seen.reply
        comment = known.get(reply.id)
        if comment is None:
            # A reply someone already flagged by quoting it is that comment, not a second one.
            comment = next((c for c in unseen if quotes_reply(c.text, c.url, reply.text, reply.url)), None)
            if comment is not None and found_flagged(
                s,
                team_id,
                comment.id,
                seen_on=thread.network,
                remote_id=reply.id,
                url=reply.url,
                author=reply.author,
            ):
                unseen.remove(comment)
                known[reply.id] = comment
                changed.append(comment.id)
            else:
                comment = None
        if comment is None:
            added = add_fetched_comment(
                s,
                team_id,
                post_id=watch.post_id,
                channel_id=watch.channel_id,
                seen_on=thread.network,
                remote_id=reply.id,
                text=reply.text,
                author=reply.author,
                url=reply.url,
                written_at=reply.written_at,
                answered_at=seen.answered_at,
                now=now,
            )
            if added is not None:
                changed.append(added.id)
        # Dismissed stays dismissed, and answered stays answered even if the answer goes later.
        elif (
            seen.answered_at is not None
            and comment.state == "open"
            and answer_fetched(s, team_id, comment.id, at=seen.answered_at)
        ):
            changed.append(comment.id)
    listed = {reply.id for reply in thread.replies_seen} - thread.hidden
    gone = [
        comment.id
        for remote_id, comment in known.items()
        if comment.state == "open"
        and comment.flagged_by is None
        and (
            remote_id in thread.hidden
            or (still_there is not None and remote_id not in listed and remote_id not in still_there)
        )
    ]
    comments_changed(s, team_id, changed, now=now)
    for comment_id in gone:
        messages = showing(s, team_id, comment_id)
        if withdraw_fetched(s, team_id, [comment_id]):
            # A fetched comment has no notice in a thread, so nobody's name is written in one.
            flag_withdrawn(s, team_id, comment_id, messages, by=thread.network, now=now)
            changed.append(comment_id)
    return changed


def _record_counts(s: Session, team_id: str, watch: DueWatch, counts: Counts, *, now: datetime) -> None:
    """A fetched snapshot, unless the post's latest snapshot is a fetched one with these very numbers: the
    trend needs the changes, not a row every 15 minutes. The latest snapshot is the one that counts, so a
    fetch after someone typed numbers records again, and the network's numbers count from then on; the
    typed snapshot is never touched, and stays on record beside them."""
    last = latest_snapshot(s, team_id, watch.post_id)
    if (
        last is not None
        and last.source == "fetched"
        and (
            last.comments_received,
            last.replies_sent,
            last.shares,
            last.likes,
            last.quotes,
        )
        == (counts.comments_received, counts.replies_sent, counts.shares, counts.likes, counts.quotes)
    ):
        return
    add_snapshot(
        s,
        team_id,
        watch.post_id,
        comments_received=counts.comments_received,
        replies_sent=counts.replies_sent,
        shares=counts.shares,
        likes=counts.likes,
        quotes=counts.quotes,
        recorded_at=now,
        recorded_by=None,
        source="fetched",
        source_ref=f"{watch.network} fetch {now.isoformat()}",
    )
