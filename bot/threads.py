"""A post's conversation as its network shows it, in one shape for Bluesky and Mastodon alike.

The readers (`bot.watch_bluesky`, `bot.watch_mastodon`) turn each network's answers into a `Thread`;
`bot.watching` decides from it what the ledger records. This module imports no network client, so the
process that serves Slack can name these types without loading one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

# What twoway's requests to the networks call themselves.
USER_AGENT = "twoway (a Slack app that helps social teams answer their audience)"


@dataclass(frozen=True)
class Reply:
    """One reply under the post, at any depth.

    ``id`` is the reply's id on its network (an at:// URI, a status id) and ``parent_id`` the id of
    what it answers: the post's (`Thread.post_id`) or another reply's. ``author`` is the handle people
    see (``ada.bsky.social``, ``ada@mastodon.social``) and ``author_id`` the account's lasting id (a DID,
    an account id). ``url`` is the reply's page on the web.
    """

    id: str
    parent_id: str
    author_id: str
    author: str
    text: str
    url: str
    written_at: datetime


@dataclass(frozen=True)
class Thread:
    """A post and its replies as one fetch saw them.

    ``post_id`` is the post's id on its network, ``target`` what the reader needs to fetch it again
    without resolving anything (kept in `watches.target`). Counts are the network's own: ``replies``
    as it reports them (every depth, hidden ones included where it counts them), ``shares`` reposts or
    boosts, ``quotes`` quote posts (Bluesky only; 0 on Mastodon), ``likes`` likes or favourites.
    ``replies_seen`` holds every reply the fetch could see; ``hidden`` the ids of replies the network
    showed as deleted, blocked or hidden by the post's author.
    """

    network: str
    post_id: str
    target: str
    author_id: str
    author: str
    created_at: datetime
    replies: int
    shares: int
    quotes: int
    likes: int
    replies_seen: tuple[Reply, ...] = ()
    hidden: frozenset[str] = field(default_factory=frozenset)


class FetchError(Exception):
    """A fetch that told nothing: the network is down, slow or broken. Nothing is concluded from it."""


class RateLimited(FetchError):
    """The network said to wait: ask again no sooner than ``retry_at`` (seconds since the epoch)."""

    def __init__(self, retry_at: float, message: str = "rate limited") -> None:
        super().__init__(message)
        self.retry_at = retry_at


class PostGone(Exception):
    """The network says the post itself no longer exists (deleted, or never did): stop watching it."""


class Reader(Protocol):
    """One network's reader, as `bot.watching` uses it."""

    network: str

    def thread(self, url: str, target: str | None) -> Thread:
        """The post at ``url`` (its canonical link) and its replies; ``target`` is the `Thread.target`
        an earlier fetch returned, None the first time. Raises `PostGone`, `RateLimited` or `FetchError`."""
        ...

    def still_there(self, url: str, reply_ids: Sequence[str]) -> set[str]:
        """Of ``reply_ids``, replies under the post at ``url``, those the network still shows (asked
        one by one or in batches, as its API allows), for replies a thread no longer listed. Raises
        `RateLimited` or `FetchError`."""
        ...
