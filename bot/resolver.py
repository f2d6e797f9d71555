"""Short links resolved in the background, and merged into the post they lead to.

A post shared as a short link (lnkd.in, vm.tiktok.com, t.co, bit.ly…, `bot.links.is_short_link`) is
recorded at once under that link; only asking its server tells which post it is. ``LinkResolver.sweep``
asks, a few posts of a team at a time: HEAD (GET when a server refuses HEAD, never reading the body),
following at most MAX_HOPS redirects to http(s) places only, each in TIMEOUT seconds. Then, in one
transaction that reads the post afresh, the short-link post is merged into the team's post with the
URL it leads to (its shares, snapshots and comments move there), or takes that URL when the team has
no such post; or, when it leads somewhere that isn't the team's post in its channel (a doc, an account
the channel said isn't its own: `bot.sources`) and nothing was recorded for it, it leaves the ledger,
and its message's :eyes: comes off. A link that can't be resolved (a timeout, a 404, a loop, too many
hops) stays as it is and is tried again later, RETRY_AFTER apart, then left for good.

Several replicas may sweep at once: the merge re-reads the post under a lock, so a post another replica
merged or rewrote meanwhile is left alone, and two posts rewritten to one URL at once leave one of them
for the next sweep, which merges it.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import IO, Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.links import PostLink, is_short_link, parse_post_link
from bot.ownership import drop_post, sources, unmark
from storage.posts import post_by_url, records_of, shares_of_post
from storage.short_links import (
    lock_post,
    merge_post,
    note_link_attempt,
    post_urls_after,
    posts_to_resolve,
    rewrite_post,
)

logger = logging.getLogger(__name__)

MAX_HOPS = 5
TIMEOUT = 4.0
USER_AGENT = "twoway/0.1 (resolving a short link someone shared in Slack)"
# How long after each failed try the next one waits; after the last, the link is left as it is.
RETRY_AFTER = (timedelta(minutes=10), timedelta(hours=1), timedelta(hours=6), timedelta(days=1))
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
# Posts resolved per team per sweep, so that a burst of short links can't hold up the other teams.
PER_SWEEP = 20
# Posts read at a time when the ledger's canonical URLs are brought up to date.
RELINK_BATCH = 500
# Where every short link's canonical URL begins (`is_short_link` decides among what these find).
SHORT_PREFIXES = (
    "https://lnkd.in/",
    "https://vm.tiktok.com/",
    "https://vt.tiktok.com/",
    "https://tiktok.com/t/",
    "http://t.co/",
    "https://t.co/",
    "http://bit.ly/",
    "https://bit.ly/",
    "http://buff.ly/",
    "https://buff.ly/",
    "http://ow.ly/",
    "https://ow.ly/",
    "http://fb.me/",
    "https://fb.me/",
    "https://fb.watch/",
    "https://reddit.com/r/",
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# What servers that won't answer HEAD say to it.
_HEAD_REFUSED = frozenset({400, 403, 405, 501})


class Unresolved(Exception):
    """The link led nowhere twoway can use; the message says why."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Each hop is counted and its scheme checked in `resolve`, so urllib follows none itself.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


Open = Callable[[urllib.request.Request, float], IO[bytes]]


def make_opener() -> Open:
    """Open a request with the stdlib, following no redirect, proxies as the environment says."""
    opener = urllib.request.build_opener(_NoRedirects())

    def open_request(request: urllib.request.Request, timeout: float) -> IO[bytes]:
        return opener.open(request, timeout=timeout)

    return open_request


def routed_to(base: str) -> Callable[[str], tuple[str, str]]:
    """Send every request to ``base`` (a server on loopback), naming the URL's own host in Host."""
    root = urlsplit(base)

    def route(url: str) -> tuple[str, str]:
        parts = urlsplit(url)
        return urlunsplit((root.scheme, root.netloc, parts.path or "/", parts.query, "")), parts.netloc

    return route


def _direct(url: str) -> tuple[str, str]:
    return url, urlsplit(url).netloc


@dataclass(frozen=True)
class Resolver:
    """Where a link leads, asked of its server: ``route`` says where each request really goes."""

    open: Open
    route: Callable[[str], tuple[str, str]] = _direct
    timeout: float = TIMEOUT
    max_hops: int = MAX_HOPS

    def _status(self, url: str, method: str) -> tuple[int, str | None]:
        address, host = self.route(url)
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked by the caller
            address, method=method, headers={"User-Agent": USER_AGENT, "Host": host, "Accept": "*/*"}
        )
        try:
            with self.open(request, self.timeout) as response:
                return int(getattr(response, "status", 200)), None
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.headers.get("Location")

    def resolve(self, url: str) -> str:
        """The URL ``url`` finally leads to; `Unresolved` when it leads nowhere, in too many hops,
        round in a loop, or off http(s)."""
        seen = {url}
        for _ in range(self.max_hops + 1):
            try:
                status, location = self._status(url, "HEAD")
                if status in _HEAD_REFUSED:
                    status, location = self._status(url, "GET")
            except (urllib.error.URLError, HTTPException, OSError, ValueError) as error:
                timed_out = isinstance(getattr(error, "reason", error), TimeoutError)
                reason = "timed out" if timed_out else str(error)
                raise Unresolved(f"{url}: {reason}") from None
            if status not in _REDIRECTS:
                if 200 <= status < 300:
                    return url
                raise Unresolved(f"{url}: HTTP {status}")
            if not location:
                raise Unresolved(f"{url}: a redirect to nowhere")
            url = urljoin(url, location.strip())
            if urlsplit(url).scheme not in ("http", "https"):
                raise Unresolved(f"a redirect off the web, to {url.split(':', 1)[0]}:")
            if url in seen:
                raise Unresolved(f"{url}: a redirect loop")
            seen.add(url)
        raise Unresolved(f"more than {self.max_hops} redirects")


def due(attempts: int, checked_at: datetime | None, now: datetime) -> bool:
    """Whether a link tried ``attempts`` times, last at ``checked_at``, is to be tried again now."""
    if attempts >= MAX_ATTEMPTS:
        return False
    if checked_at is None or attempts == 0:
        return True
    return now >= checked_at + RETRY_AFTER[min(attempts, len(RETRY_AFTER)) - 1]


@dataclass(frozen=True)
class Outcome:
    """What one sweep did: posts merged into another, rewritten, dropped as not the team's, and left for
    a later try."""

    merged: int = 0
    rewritten: int = 0
    failed: int = 0
    dropped: int = 0


class LinkResolver:
    """Resolves the short-link posts of each team, as a scheduler job of every replica."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        resolver: Resolver | None,
        client_for: Callable[[str], WebClient] | None = None,
    ) -> None:
        """``resolver`` None: short links are never asked (TWOWAY_RESOLVE_LINKS=off); older forms of
        links are still brought up to date, which needs no network. ``client_for`` takes :eyes: off a
        message whose short link led to nothing of the team's (None: it stays)."""
        self._sessions = sessions
        self._clock = clock
        self._resolver = resolver
        self._client_for = client_for
        self._relinked: set[str] = set()

    def relink(self, team_id: str) -> Outcome:
        """Bring the team's posts recorded before twoway knew a form of their link (a LinkedIn /posts/
        link, an Instagram reel, a wrapped link) to today's canonical URL: each is merged into the post
        of that URL, or takes it. No network; once per team per process, before its first sweep."""
        merged = rewritten = failed = 0
        after = 0
        while True:
            with self._sessions.begin() as s:
                batch = post_urls_after(s, team_id, after, RELINK_BATCH)
            if not batch:
                return Outcome(merged, rewritten, failed)
            after = batch[-1][0]
            for post_id, stored in batch:
                link = parse_post_link(stored)
                if link is None or link.canonical_url == stored:
                    continue
                try:
                    with self._sessions.begin() as s:
                        done = _settle(
                            s,
                            team_id,
                            post_id,
                            stored,
                            link.canonical_url,
                            None,  # the link as shared stays
                            link.platform,
                            self._clock(),
                        )
                except IntegrityError:
                    logger.info(
                        "post %d: %s was taken meanwhile; relinked at the next run",
                        post_id,
                        link.canonical_url,
                    )
                    failed += 1
                    continue
                merged += done == "merged"
                rewritten += done == "rewritten"

    def run(self, team_id: str) -> None:
        """The scheduler's job for one team: relink once, then sweep."""
        if team_id not in self._relinked and self.relink(team_id).failed == 0:
            self._relinked.add(team_id)
        self.sweep(team_id)

    def sweep(self, team_id: str) -> Outcome:
        """Resolve the team's short-link posts that are due; return what became of them."""
        if self._resolver is None:
            return Outcome()
        now = self._clock()
        with self._sessions.begin() as s:
            candidates = [
                (post.id, post.canonical_url, post.url, post.link_attempts)
                for post in posts_to_resolve(
                    s, team_id, SHORT_PREFIXES, max_attempts=MAX_ATTEMPTS, limit=PER_SWEEP * 5
                )
                if is_short_link(post.canonical_url) and due(post.link_attempts, post.link_checked_at, now)
            ][:PER_SWEEP]
        merged = rewritten = failed = dropped = 0
        resolver = self._resolver
        for post_id, short, shared_url, attempts in candidates:
            # The network is asked outside any transaction: a slow server must hold no lock. The link
            # is asked as it was shared: some servers tell /x from /x/.
            try:
                link = parse_post_link(resolver.resolve(shared_url))
                if link is None or is_short_link(link.canonical_url) or link.canonical_url == short:
                    raise Unresolved(f"{short} leads to no post")
            except Unresolved as why:
                logger.info("short link of post %d not resolved (try %d): %s", post_id, attempts + 1, why)
                with self._sessions.begin() as s:
                    note_link_attempt(s, team_id, post_id, at=self._clock(), attempts=attempts + 1)
                failed += 1
                continue
            bare: list[tuple[str, str]] = []
            try:
                with self._sessions.begin() as s:
                    done = _settle(
                        s, team_id, post_id, short, link.canonical_url, link.url, link.platform, now
                    )
                    if done == "rewritten" and not _counts(s, team_id, post_id, link):
                        bare = drop_post(s, team_id, post_id)
                        done = "dropped"
            except IntegrityError:
                # Another replica gave another post this URL at the same moment: merged next sweep.
                logger.info("post %d: %s was taken meanwhile; merging next time", post_id, link.canonical_url)
                continue
            if done == "dropped":
                logger.info("post %d: its short link leads to nothing of the team's; dropped", post_id)
                self._unmark(team_id, bare)
            merged += done == "merged"
            rewritten += done == "rewritten"
            dropped += done == "dropped"
        return Outcome(merged, rewritten, failed, dropped)

    def _unmark(self, team_id: str, messages: list[tuple[str, str]]) -> None:
        if self._client_for is None or not messages:
            return
        client = self._client_for(team_id)
        for channel_id, ts in messages:
            unmark(client, channel_id, ts)


def _counts(s: Session, team_id: str, post_id: int, link: PostLink) -> bool:
    """Whether the post, just given the URL its short link leads to, is the team's post in its channel;
    a post something was recorded for, or that another channel shares too, stays whatever it is, as a post
    taken back by hand does."""
    post = lock_post(s, team_id, post_id)
    if post is None:
        return True
    if sources(s, team_id, post.channel_id).counts(link):
        return True
    if any(channel != post.channel_id for channel, _ in shares_of_post(s, team_id, post_id)):
        return True
    snapshots, comments = records_of(s, team_id, post_id)
    return bool(snapshots or comments)


def _settle(
    s: Session,
    team_id: str,
    post_id: int,
    short: str,
    canonical: str,
    url: str | None,
    platform: str,
    now: datetime,
) -> str | None:
    post = lock_post(s, team_id, post_id)
    if post is None or post.canonical_url != short:
        return None  # merged or rewritten by another replica meanwhile
    target = post_by_url(s, team_id, canonical)
    if target is not None:
        merge_post(s, post, target)
        return "merged"
    rewrite_post(s, post, canonical_url=canonical, url=url, platform=platform, at=now)
    return "rewritten"
