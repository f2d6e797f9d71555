"""Which of Slack's events can change the ledger, decided before anything is written.

Slack sends twoway every message of every channel it is in. Most are chatter: no post link (a doc's
link on a site the channel never named is none: `bot.sources`), no thread under a post twoway tracks,
no reaction a channel uses (:x: is one only on a message that shares a post, which it takes back). Such
an event is acknowledged with no write at all (no signature remembered, no claim, no body stored) and
reaches no listener (`twoway.acknowledge`).

`ignored_because` is a pure function of the event and a `Tracked` view of the ledger. It may say
"maybe relevant" wrongly, never "irrelevant" wrongly; so it is conservative: any event type other than
a message or a reaction, any message it can't read, any subtype the listeners follow, is relevant.

`LedgerView` is that view, shared by every replica through the database. It caches only what it found
tracked (a post's thread, an emoji a channel uses), since something tracked once may be acted on
later (a stale "yes" costs one useless claim); whatever it doesn't find in its cache it reads from the
database there and then. A post recorded on one replica is therefore seen by the next event on any
other replica, with no generation to bump and no window of staleness. In a channel whose ledger is
another workspace's (`bot.homes`), every message and reaction is relevant: the view doesn't second-guess
which workspace's ledger it belongs to. A reply under a recent message that shares nothing yet is
relevant while the message's own event is claimed and not done: it may be in an inbox, its post about
to be recorded (`LedgerView.may_share_soon`; each claim names the message its event is about).

The view reads through sessions of their own (`storage.db.make_read_engine`): on SQLite, the ledger's
engine has one connection and every transaction on it takes the write lock, so a read there would wait
for whichever listener or job is writing. Each check is a statement, so a transaction, of its own: it
sees every commit made before it began, on any replica.

`IgnoredCount` logs the events ignored, by reason, once a minute, and what it holds when the process
stops (`IgnoredCount.flush`, called by `twoway.runtime.Runtime.stop`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine, String, bindparam, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.flagging import base_emoji
from bot.links import links_in_message
from bot.sources import NOT_OURS_REACTION, may_count, site_of
from storage.channel_homes import homed_elsewhere
from storage.channel_sources import naming_a_site
from storage.channels import DEFAULT_EMOJIS, emojis_of
from storage.event_claims import in_hand
from storage.posts import sharing

logger = logging.getLogger(__name__)

# The message subtypes `handlers.message_events` reads; the rest (joins, topic changes…) it ignores.
AUTHORED = frozenset({None, "thread_broadcast", "file_share", "bot_message", "me_message"})
FOLLOWED = frozenset({"message_changed", "message_deleted"})
REACTIONS = frozenset({"reaction_added", "reaction_removed"})

CHATTER = "message with no post link, outside any tracked thread"
UNTRACKED_REPLY = "reply under an untracked message"
OTHER_SUBTYPE = "message subtype twoway doesn't follow"
UNTRACKED_EDIT = "edit or deletion of a message twoway doesn't track"
UNUSED_REACTION = "reaction with an emoji the channel doesn't use"
NOT_A_MESSAGE = "reaction on something other than a message"

# How often each replica logs its counts of ignored events, at INFO.
LOG_EVERY = timedelta(minutes=1)
# A reply under a message this recent may come before the message's own event is handled: its post
# is then in flight, acknowledged but not yet recorded. Slack retries an event it got no answer for
# within minutes; older messages are settled.
IN_FLIGHT = timedelta(minutes=10)
# Entries the cache holds before it starts afresh: a bound on memory, not on correctness.
CACHE_LIMIT = 100_000


class Tracked(Protocol):
    """What the ledger tracks in a workspace, as far as an event's relevance needs it."""

    def is_tracked_thread(self, team_id: str, channel_id: str, ts: str) -> bool:
        """Whether the message ``ts`` shares a post, so that its thread is a post's thread."""
        ...

    def uses_emoji(self, team_id: str, channel_id: str, emoji: str) -> bool:
        """Whether ``emoji`` is the channel's flag, resolve or dismiss reaction."""
        ...

    def may_share_soon(self, team_id: str, ts: str) -> bool:
        """Whether the message ``ts`` may share a post that isn't recorded yet: it is recent, and its
        own event is claimed and not done."""
        ...

    def names_site(self, team_id: str, channel_id: str, hosts: list[str]) -> bool:
        """Whether the channel names one of ``hosts`` as its own site (`bot.sources`)."""
        ...


def _has_posts(team_id: str, channel: str, message: dict[str, Any], tracked: Tracked) -> bool:
    """Whether the message links something that may be the team's post: a social network's link, or
    another site's that the channel names (one read, only for a message whose links are all such)."""
    text = message.get("text")
    blocks = message.get("blocks")
    links = links_in_message(
        text if isinstance(text, str) else "", blocks if isinstance(blocks, list) else None
    )
    if not links or may_count(links):
        return bool(links)
    return tracked.names_site(team_id, channel, sorted({site_of(link) for link in links}))


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def ignored_because(body: dict[str, Any], tracked: Tracked) -> str | None:
    """Why an Events API delivery can't change the ledger, or None when it may (then it is handled)."""
    team_id = _text_or_none(body.get("team_id"))
    event = body.get("event")
    if team_id is None or not isinstance(event, dict):
        return None
    kind = event.get("type")
    if not isinstance(kind, str):
        return None
    if kind == "message":
        return _message(team_id, event, tracked)
    if kind in REACTIONS:
        return _reaction(team_id, event, tracked)
    # Channels coming and going, mentions, the Home tab, uninstalls: always the listeners' business.
    return None


def _message(team_id: str, event: dict[str, Any], tracked: Tracked) -> str | None:
    channel = _text_or_none(event.get("channel"))
    subtype = event.get("subtype")
    if channel is None or not (subtype is None or isinstance(subtype, str)):
        return None
    if subtype in FOLLOWED:
        return _followed(team_id, channel, event, tracked)
    if subtype not in AUTHORED:
        return OTHER_SUBTYPE
    if _has_posts(team_id, channel, event, tracked):
        return None
    thread_ts, ts = _text_or_none(event.get("thread_ts")), _text_or_none(event.get("ts"))
    if thread_ts is None:
        return CHATTER
    if thread_ts == ts:
        # A thread's parent with no link shares nothing: nothing under it is kept or read.
        return CHATTER
    # In this order: the message's own event is settled only after its share is committed, so a message
    # found out of hand here has its share, if any, in the ledger for the next read to find.
    if tracked.may_share_soon(team_id, thread_ts) or tracked.is_tracked_thread(team_id, channel, thread_ts):
        return None
    return UNTRACKED_REPLY


def _followed(team_id: str, channel: str, event: dict[str, Any], tracked: Tracked) -> str | None:
    """An edit or a deletion matters when either version links a post, or when the message shares a post
    or sits in a post's thread (a kept message: `bot.ledger.keep`)."""
    versions = [v for v in (event.get("message"), event.get("previous_message")) if isinstance(v, dict)]
    if event.get("subtype") == "message_deleted" and not versions:
        return None  # nothing to tell which message it was but its ts: let the listener look
    if any(_has_posts(team_id, channel, v, tracked) for v in versions):
        return None
    stamps = [event.get("deleted_ts")]
    for version in versions:
        stamps += [version.get("ts"), version.get("thread_ts")]
    for ts in stamps:
        if isinstance(ts, str) and ts and tracked.is_tracked_thread(team_id, channel, ts):
            return None
    return UNTRACKED_EDIT


def _reaction(team_id: str, event: dict[str, Any], tracked: Tracked) -> str | None:
    item = event.get("item")
    reaction = event.get("reaction")
    if not isinstance(item, dict) or not isinstance(reaction, str):
        return None
    if item.get("type") != "message":
        return NOT_A_MESSAGE
    channel = _text_or_none(item.get("channel"))
    if channel is None:
        return None
    emoji = base_emoji(reaction)
    if tracked.uses_emoji(team_id, channel, emoji):
        return None
    # :x: takes back the posts a message shares, so it matters only on such a message.
    ts = item.get("ts")
    added = event.get("type") == "reaction_added"
    if (
        added
        and emoji == NOT_OURS_REACTION
        and isinstance(ts, str)
        and tracked.is_tracked_thread(team_id, channel, ts)
    ):
        return None
    return UNUSED_REACTION


# The view's statements, built once with their values bound: built per check, the expressions and
# their cache keys cost more than the reads. A channel whose home is another workspace's (shared by two
# that installed twoway: `bot.homes`) is left to the listeners, which read and write as the home, or
# take the channel over.
_TEAM = bindparam("team_id", type_=String())
_CHANNEL = bindparam("channel_id", type_=String())
_TRACKED_THREAD = select(
    or_(homed_elsewhere(_TEAM, _CHANNEL), sharing(_TEAM, _CHANNEL, bindparam("ts", type_=String())))
)
_NAMED_SITE = select(
    or_(
        homed_elsewhere(_TEAM, _CHANNEL),
        naming_a_site(_TEAM, _CHANNEL, bindparam("hosts", expanding=True)),
    )
)
_CHANNEL_EMOJIS = select(homed_elsewhere(_TEAM, _CHANNEL), *emojis_of(_TEAM, _CHANNEL))


class LedgerView:
    """The `Tracked` view read from the ledger: what it found tracked is cached, the rest read again.

    ``sessions`` only read; on SQLite they should be the read engine's, which never waits behind a writer.
    Each check is one statement on a Core connection of their engine: the view runs on the ack path,
    for chatter, where an ORM session and its identity map would cost more than the read.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self._engine: Engine = sessions.kw["bind"]
        self._clock = clock
        self._lock = threading.Lock()
        self._threads: set[tuple[str, str, str]] = set()
        self._emojis: set[tuple[str, str, str]] = set()
        self._sites: set[tuple[str, str, str]] = set()

    def is_tracked_thread(self, team_id: str, channel_id: str, ts: str) -> bool:
        key = (team_id, channel_id, ts)
        with self._lock:
            if key in self._threads:
                return True
        with self._engine.connect() as conn:
            found = bool(
                conn.scalar(_TRACKED_THREAD, {"team_id": team_id, "channel_id": channel_id, "ts": ts})
            )
        if found:
            self._remember(self._threads, [key])
        return found

    def uses_emoji(self, team_id: str, channel_id: str, emoji: str) -> bool:
        with self._lock:
            if (team_id, channel_id, emoji) in self._emojis:
                return True
        with self._engine.connect() as conn:
            elsewhere, *settings = conn.execute(
                _CHANNEL_EMOJIS, {"team_id": team_id, "channel_id": channel_id}
            ).one()
        if elsewhere:
            return True
        emojis = DEFAULT_EMOJIS if settings[0] is None else frozenset(settings)
        self._remember(self._emojis, [(team_id, channel_id, e) for e in emojis])
        return emoji in emojis

    def names_site(self, team_id: str, channel_id: str, hosts: list[str]) -> bool:
        keys = [(team_id, channel_id, host) for host in hosts]
        with self._lock:
            if any(key in self._sites for key in keys):
                return True
        with self._engine.connect() as conn:
            found = bool(
                conn.scalar(_NAMED_SITE, {"team_id": team_id, "channel_id": channel_id, "hosts": hosts})
            )
        if found and len(keys) == 1:
            # With several hosts, which of them is named isn't read: none is cached.
            self._remember(self._sites, keys)
        return found

    def may_share_soon(self, team_id: str, ts: str) -> bool:
        try:
            posted = datetime.fromtimestamp(float(ts), UTC)
        except (ValueError, OverflowError, OSError):
            return True
        if self._clock() - posted > IN_FLIGHT:
            return False
        with self._engine.connect() as conn:
            return in_hand(conn, team_id, ts)

    def _remember(self, cache: set[tuple[str, str, str]], keys: list[tuple[str, str, str]]) -> None:
        with self._lock:
            if len(cache) + len(keys) > CACHE_LIMIT:
                cache.clear()
            cache.update(keys)


class IgnoredCount:
    """Counts the events ignored, by reason, and logs the counts at most once per ``LOG_EVERY``, and
    once more when flushed."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._since: datetime | None = None

    def add(self, reason: str) -> None:
        now = self._clock()
        with self._lock:
            self._counts[reason] += 1
            if self._since is None:
                self._since = now
            if now - self._since < LOG_EVERY:
                return
            counts, self._counts, self._since = self._counts, Counter(), now
        self._log(counts)

    def flush(self) -> None:
        """Log the counts not logged yet, if there are any: when the process stops, the last minute's
        would otherwise be lost."""
        with self._lock:
            counts, self._counts, self._since = self._counts, Counter(), None
        if counts:
            self._log(counts)

    @staticmethod
    def _log(counts: Counter[str]) -> None:
        detail = "; ".join(f"{n} {reason}" for reason, n in counts.most_common())
        logger.info("ignored %d events that can't change the ledger: %s", sum(counts.values()), detail)
