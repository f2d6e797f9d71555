"""Reading a Bluesky post's thread and counts from Bluesky's public AppView, with no account.

`BlueskyReader` is `bot.threads.Reader` for Bluesky, through the atproto SDK's `Client` pointed at
``<bluesky_api_url>/xrpc``: `app.bsky.feed.getPostThread` for the thread, `app.bsky.feed.getPosts` for
replies a thread no longer lists, and `com.atproto.identity.resolveHandle` for the handle in a link.

This module imports `atproto_client`; only the watcher's process may import it, never the process that
serves Slack.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from atproto_client import Client, models
from atproto_client.exceptions import (
    AtProtocolError,
    BadRequestError,
    RateLimitExceededError,
)
from atproto_client.request import Request

from bot.threads import USER_AGENT, FetchError, PostGone, RateLimited, Reply, Thread

T = TypeVar("T")

NETWORK = "bluesky"
POST_COLLECTION = "app.bsky.feed.post"
# Replies to replies, as deep as a conversation on one post ever goes; the AppView caps it by itself
# too (its maxThreadDepth). The lexicon allows 1000.
THREAD_DEPTH = 100
# getPosts takes at most 25 uris (its lexicon's maxLength).
POSTS_BATCH = 25
# When a 429 names neither Retry-After nor ratelimit-reset.
DEFAULT_PAUSE = 60.0
INVALID_HANDLE = "handle.invalid"


class BlueskyReader:
    """Bluesky's threads, as `bot.watching` asks for them.

    Made from ``api_url`` (`Config.bluesky_api_url`) and a ``timeout`` in seconds for each request.
    One worker thread at a time may call it: the pause a rate limit imposes and the handles resolved
    are kept on the reader without a lock. While a pause lasts (a 429, or answers reporting
    ``ratelimit-remaining: 0``) it raises `RateLimited` without asking the network.
    """

    network = NETWORK

    def __init__(self, api_url: str, timeout: float, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._paused_until = 0.0
        self._dids: dict[str, str] = {}
        # httpx's response hooks see every answer's headers, successful ones included, which the SDK's
        # models leave out: that is where "ratelimit-remaining: 0" shows before any 429.
        request = Request(timeout=timeout, event_hooks={"response": [self._note_limits]})
        request.add_additional_header("User-Agent", USER_AGENT)
        self._client = Client(f"{api_url.rstrip('/')}/xrpc", request=request)

    def thread(self, url: str, target: str | None) -> Thread:
        uri = target or self._post_uri(url)
        response = self._call(
            self._client.app.bsky.feed.get_post_thread,
            {"uri": uri, "depth": THREAD_DEPTH, "parent_height": 0},
            gone_when_not_found=True,
        )
        root = response.thread
        if isinstance(root, models.AppBskyFeedDefs.NotFoundPost):
            raise PostGone(uri)
        if not isinstance(root, models.AppBskyFeedDefs.ThreadViewPost):
            raise FetchError(f"Bluesky shows no thread for {uri}")
        post = root.post
        hidden_by_author = set(_hidden_replies(response.threadgate))
        seen: list[Reply] = []
        hidden: set[str] = set()
        for parent_id, item in _descend(root):
            if isinstance(item, models.AppBskyFeedDefs.ThreadViewPost):
                if item.post.uri in hidden_by_author:
                    hidden.add(item.post.uri)
                else:
                    seen.append(_reply(item.post, parent_id))
            elif isinstance(item, models.AppBskyFeedDefs.NotFoundPost | models.AppBskyFeedDefs.BlockedPost):
                hidden.add(item.uri)
        return Thread(
            network=NETWORK,
            post_id=post.uri,
            target=post.uri,
            author_id=post.author.did,
            author=post.author.handle,
            created_at=_written_at(post),
            replies=post.reply_count or 0,
            shares=post.repost_count or 0,
            quotes=post.quote_count or 0,
            likes=post.like_count or 0,
            replies_seen=tuple(seen),
            hidden=frozenset(hidden),
        )

    def still_there(self, url: str, reply_ids: Sequence[str]) -> set[str]:
        there: set[str] = set()
        ids = list(dict.fromkeys(reply_ids))
        for start in range(0, len(ids), POSTS_BATCH):
            batch = ids[start : start + POSTS_BATCH]
            response = self._call(self._client.app.bsky.feed.get_posts, {"uris": batch})
            there.update(p.uri for p in response.posts if p.uri in batch)
        return there

    def close(self) -> None:
        """Closes its connections; the reader is not used again."""
        self._client.request.close()

    def _post_uri(self, url: str) -> str:
        """The at:// URI of the post a bsky.app link names, its handle resolved to a DID once."""
        parts = urlsplit(url).path.strip("/").split("/")
        if len(parts) != 4 or parts[0] != "profile" or parts[2] != "post" or not parts[3]:
            raise PostGone(f"not a Bluesky post link: {url}")
        actor, rkey = parts[1], parts[3]
        if not actor.startswith("did:"):
            handle = actor.lower()
            if handle not in self._dids:
                resolved = self._call(
                    self._client.com.atproto.identity.resolve_handle,
                    {"handle": handle},
                    gone_when_not_found=True,
                )
                self._dids[handle] = resolved.did
            actor = self._dids[handle]
        return f"at://{actor}/{POST_COLLECTION}/{rkey}"

    def _call(self, method: Callable[..., T], params: dict[str, Any], gone_when_not_found: bool = False) -> T:
        """The answer of one XRPC ``method`` of the SDK, with the network's refusals and failures told
        apart; with ``gone_when_not_found``, a 400 (NotFound, an unknown handle) means the post is gone."""
        now = self._clock()
        if now < self._paused_until:
            raise RateLimited(self._paused_until, "Bluesky asked to wait")
        try:
            return method(params=params)
        except RateLimitExceededError as e:
            self._paused_until = max(self._paused_until, self._retry_at(e, now))
            raise RateLimited(self._paused_until, "Bluesky answered 429") from e
        except BadRequestError as e:
            # A missing post is NotFound; a handle nobody holds, "Unable to resolve handle".
            if gone_when_not_found:
                raise PostGone(str(e)) from e
            raise FetchError(f"Bluesky refused the request: {e}") from e
        except (AtProtocolError, httpx.HTTPError) as e:
            raise FetchError(f"Bluesky did not answer: {e!r}") from e

    def _retry_at(self, error: RateLimitExceededError, now: float) -> float:
        if error.retry_after is not None:
            return now + error.retry_after
        if error.reset_at is not None:
            return error.reset_at.timestamp()
        return now + DEFAULT_PAUSE

    def _note_limits(self, response: httpx.Response) -> None:
        """An answer saying no requests remain pauses the reader until the window resets."""
        remaining, reset = (
            response.headers.get("ratelimit-remaining"),
            response.headers.get("ratelimit-reset"),
        )
        if remaining is None or reset is None:
            return
        try:
            if int(remaining) <= 0:
                self._paused_until = max(self._paused_until, float(reset))
        except ValueError:
            return


def _descend(
    node: models.AppBskyFeedDefs.ThreadViewPost,
) -> Iterator[tuple[str, Any]]:
    """Every item below ``node`` at any depth, each with the URI of the post it answers."""
    for item in node.replies or ():
        yield node.post.uri, item
        if isinstance(item, models.AppBskyFeedDefs.ThreadViewPost):
            yield from _descend(item)


def _hidden_replies(threadgate: models.AppBskyFeedDefs.ThreadgateView | None) -> list[str]:
    """The replies the thread's author hid, from the root's threadgate record."""
    record = threadgate.record if threadgate is not None else None
    if record is None:
        return []
    if isinstance(record, dict):
        return list(record.get("hiddenReplies") or [])
    return list(getattr(record, "hidden_replies", None) or [])


def _reply(post: models.AppBskyFeedDefs.PostView, parent_id: str) -> Reply:
    rkey = post.uri.rsplit("/", 1)[-1]
    # An account whose handle no longer checks out is shown as "handle.invalid"; its DID still links.
    profile = post.author.did if post.author.handle == INVALID_HANDLE else post.author.handle
    return Reply(
        id=post.uri,
        parent_id=parent_id,
        author_id=post.author.did,
        author=post.author.handle,
        text=_record_field(post, "text") or "",
        url=f"https://bsky.app/profile/{profile}/post/{rkey}",
        written_at=_written_at(post),
    )


def _record_field(post: models.AppBskyFeedDefs.PostView, name: str) -> str | None:
    record = post.record
    if isinstance(record, dict):
        value = record.get({"created_at": "createdAt"}.get(name, name))
    else:
        value = getattr(record, name, None)
    return value if isinstance(value, str) else None


def _written_at(post: models.AppBskyFeedDefs.PostView) -> datetime:
    """When the post says it was written, else when the AppView saw it; always in UTC."""
    for value in (_record_field(post, "created_at"), post.indexed_at):
        if value:
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    raise FetchError(f"Bluesky gave no time for {post.uri}")
