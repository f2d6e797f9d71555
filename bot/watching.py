"""Watching Bluesky and Mastodon posts: when each is fetched, and what a fetched thread says.

Everything here is pure: it takes plain data and ``now``, and reads no clock, network or database.

**The cadence.** A watched post is fetched in slots counted from its anchor (its creation time on its
network, its shared time until the first fetch tells): every 15 minutes in its first day, hourly until
7 days, daily until 30 days, then never again. Each post's slots are shifted by an offset of its own, a
fraction of the slot's length drawn from the post's id (`spread_of`), so that posts shared together are
fetched spread over the interval rather than all at once. Slot 0 runs from the anchor (or earlier) to
the start of slot 1: a post is fetched as soon as it is watched.

**The reading.** `read_thread` tells the team's replies from the audience's (the post's author, or any
account the channel lists as its own), counts them, and says for each audience reply whether the team
answered it and when: a team reply anywhere under it, at any depth, answers it at the earliest such
reply's time. An audience reply to a team reply is a comment of its own.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.sources import same_account
from bot.threads import Reply, Thread

FIRST_DAY = timedelta(days=1)
FIRST_WEEK = timedelta(days=7)
WATCH_FOR = timedelta(days=30)
# (first slot of the phase, where that slot's grid interval starts after the anchor, slot length); slot 0
# is the anchor's own, until slot 1.
_PHASES = (
    (1, timedelta(minutes=15), timedelta(minutes=15)),
    (FIRST_DAY // timedelta(minutes=15), FIRST_DAY, timedelta(hours=1)),
    (
        FIRST_DAY // timedelta(minutes=15) + (FIRST_WEEK - FIRST_DAY) // timedelta(hours=1),
        FIRST_WEEK,
        timedelta(days=1),
    ),
)
# The last slot: the one that starts in the 30th day.
LAST_SLOT = _PHASES[2][0] + (WATCH_FOR - FIRST_WEEK) // timedelta(days=1) - 1


def spread_of(post_id: int) -> float:
    """The post's own offset, in [0, 1) of a slot's length: the same on every replica, and different
    enough between posts shared in the same minute."""
    digest = hashlib.blake2b(str(post_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _phase(k: int) -> tuple[int, timedelta, timedelta]:
    return next(phase for phase in reversed(_PHASES) if k >= phase[0])


def slot_start(anchor: datetime, k: int, spread: float) -> datetime:
    """When slot ``k`` (1 to ``LAST_SLOT + 1``, the slot there would be after the last) starts.

    A slot starts ``spread`` of its length after its place in the grid, so each slot stays inside its
    grid interval and slots keep their order across the phases' boundaries.
    """
    if not 1 <= k <= LAST_SLOT + 1:
        raise ValueError(f"slots start from 1 to {LAST_SLOT + 1}, not {k}")
    first, base, length = _phase(k)
    # Rounded down to the microsecond, so that an offset just under 1 stays inside the slot's interval.
    offset = timedelta(microseconds=int(length // timedelta(microseconds=1) * spread))
    return anchor + base + (k - first) * length + offset


def slot_of(anchor: datetime, now: datetime, spread: float) -> int | None:
    """The slot ``now`` falls in (0 before slot 1 starts, even before the anchor), or None once watching
    is over: 30 days after the anchor, whatever the offset, so the last slot is shorter than a day."""
    if now >= anchor + WATCH_FOR:
        return None
    low, high = 0, LAST_SLOT
    # The greatest k whose start is at or before now; slot 0 has none, so it is the floor.
    while low < high:
        middle = (low + high + 1) // 2
        if slot_start(anchor, middle, spread) <= now:
            low = middle
        else:
            high = middle - 1
    return low


def next_due(anchor: datetime, k: int, spread: float) -> datetime | None:
    """When the slot after ``k`` starts, or None when ``k`` was the last."""
    return slot_start(anchor, k + 1, spread) if k < LAST_SLOT else None


# A failed fetch is tried again after a minute, then two, four… up to an hour.
BACKOFF_FIRST = timedelta(minutes=1)
BACKOFF_MOST = timedelta(hours=1)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failure in a row (1 for the first)."""
    if attempts <= 1:
        return BACKOFF_FIRST
    return min(BACKOFF_FIRST * 2 ** min(attempts - 1, 16), BACKOFF_MOST)


@dataclass(frozen=True)
class Counts:
    """A post's numbers as a fetch saw them, in the ledger's words."""

    comments_received: int
    replies_sent: int
    shares: int
    likes: int
    # None where the network doesn't tell quote posts apart (Mastodon).
    quotes: int | None


@dataclass(frozen=True)
class AudienceReply:
    """A reply by someone other than the team, and when the team first answered it (None: not yet)."""

    reply: Reply
    answered_at: datetime | None


@dataclass(frozen=True)
class Reading:
    """What a thread says for the ledger: its counts, and the audience's replies oldest first."""

    counts: Counts
    audience: tuple[AudienceReply, ...]


def account_of_reply(network: str, author: str, post_host: str) -> tuple[str, ...]:
    """The forms under which a channel may list the reply's author as its own account (as
    `bot.sources.account_of` gives them), in lower case.

    A Bluesky handle is ``bsky.app/profile/<handle>``. A Mastodon ``user@instance`` is
    ``instance/@user``; it is also ``<post's instance>/@user@instance``, the link to a remote account as
    the post's instance shows it; a bare ``user`` is an account of the post's own instance.
    """
    handle = author.strip().lstrip("@").lower()
    if network == "bluesky":
        return (f"bsky.app/profile/{handle}",)
    user, _, instance = handle.partition("@")
    if not instance or instance == post_host:
        return (f"{post_host}/@{user}",)
    return (f"{instance}/@{user}", f"{post_host}/@{handle}")


def read_thread(thread: Thread, accounts: Collection[str], post_host: str) -> Reading:
    """Read a fetched thread against the channel's own ``accounts`` (as `storage.channel_sources` keeps
    them); ``post_host`` is the host of the post's link (a Mastodon instance).

    The counts come from the replies the fetch saw, not the network's own reply count, which disagrees
    with what anyone can answer: Bluesky's ``replyCount`` counts replies from blocked accounts and replies
    a thread gate refused (bluesky-social/social-app#4320), and a Mastodon instance's ``replies_count``
    counts the replies it holds, not those its context endpoint can show (mastodon/mastodon#26863).
    Comments received are the replies by anyone but the post's author, so that the reply rate
    (replies sent ÷ comments received) stays comparable with a summary's numbers; replies sent are the
    replies by the author or by any account the channel lists as its own.
    """
    own = {same_account(a.lower()) for a in accounts}

    def is_team(reply: Reply) -> bool:
        if reply.author_id == thread.author_id:
            return True
        forms = account_of_reply(thread.network, reply.author, post_host)
        return any(same_account(form) in own for form in forms)

    replies = [r for r in thread.replies_seen if r.id not in thread.hidden]
    team = {r.id for r in replies if is_team(r)}
    children: dict[str, list[Reply]] = defaultdict(list)
    for reply in replies:
        children[reply.parent_id].append(reply)

    def first_answer(reply: Reply) -> datetime | None:
        times = [r.written_at for r in _descendants(reply.id, children) if r.id in team]
        return min(times, default=None)

    audience = tuple(
        AudienceReply(reply, first_answer(reply))
        for reply in sorted(replies, key=lambda r: (r.written_at, r.id))
        if reply.id not in team
    )
    counts = Counts(
        comments_received=sum(1 for r in replies if r.author_id != thread.author_id),
        replies_sent=len(team),
        shares=thread.shares,
        likes=thread.likes,
        quotes=thread.quotes if thread.network == "bluesky" else None,
    )
    return Reading(counts, audience)


def _descendants(reply_id: str, children: dict[str, list[Reply]]) -> Iterable[Reply]:
    """Every reply under ``reply_id``, at any depth; a reply is visited once even if ids loop."""
    seen: set[str] = set()
    stack = list(children.get(reply_id, ()))
    while stack:
        reply = stack.pop()
        if reply.id in seen:
            continue
        seen.add(reply.id)
        yield reply
        stack.extend(children.get(reply.id, ()))
