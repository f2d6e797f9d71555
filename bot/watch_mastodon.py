"""A Mastodon post's replies and counts, read from its instance's public REST API with no account.

`MastodonReader` implements `bot.threads.Reader` with Mastodon.py: one client per instance, kept, each
asking `GET /api/v1/statuses/:id` (the post, its counts) and `GET /api/v1/statuses/:id/context` (its
replies, at any depth, as one flat list). The instance is the link's host; its API is at
`https://<instance>`, or at `<mastodon_api_url>/<instance>` when `Config.mastodon_api_url` is set.

What a `Thread` holds here:

- ``post_id`` and reply ids are the instance's status ids; ``target`` is ``<instance>/<status id>``.
- ``author`` is the full acct, ``user@instance`` (a local account's acct gains the instance's name);
  ``author_id`` is the account's profile URL (``https://home.instance/@user``): the same person seen
  from any instance, and the form a channel's `settings accounts` lists.
- Text is the status's HTML as plain text, as Mastodon's own plain-text formatter makes it: tags
  stripped, line breaks and paragraphs kept, a link's whole text (the parts Mastodon's web page hides
  included, so a link reads as its full URL), entities decoded.
- Counts: ``replies`` is ``replies_count`` (Mastodon's: the public replies made directly to the post),
  ``shares`` ``reblogs_count``, ``likes`` ``favourites_count``, ``quotes`` 0. Mastodon has no reply
  hidden by the post's author: ``hidden`` is always empty, and replies the context does not return
  (deleted, private, past its unauthenticated limits of 60 descendants 20 deep) are just absent.

Rate limits (docs.joinmastodon.org/api/rate-limits: 300 requests per 5 minutes per IP, headers
`X-RateLimit-Limit`, `-Remaining`, `-Reset`): Mastodon.py runs in its "throw" mode and never sleeps. A
429 becomes `RateLimited` at `Retry-After` when the answer has one (Mastodon's own 429s don't; a proxy in
front of it may), else at `X-RateLimit-Reset`, else a minute on. A successful answer that says
``X-RateLimit-Remaining: 0`` pauses the instance the same way. While an instance's pause lasts, the
reader raises `RateLimited` without asking it anything.

One call runs at a time: a lock serializes `thread` and `still_there`, so the reader may be shared, but
a second worker thread would only wait for the first.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import requests
from mastodon import (
    Mastodon,
    MastodonError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
)

from bot.threads import USER_AGENT, FetchError, PostGone, RateLimited, Reply, Thread

NETWORK = "mastodon"
# When a 429 says neither Retry-After nor when the window resets.
DEFAULT_PAUSE = 60.0


class MastodonReader:
    """Reads Mastodon posts from their instances' public API (see the module's docstring)."""

    network = NETWORK

    def __init__(self, api_url: str | None, timeout: float, clock: Callable[[], float] = time.time) -> None:
        self.api_url = api_url.rstrip("/") if api_url else None
        self.timeout = timeout
        self.clock = clock
        self._clients: dict[str, _Client] = {}
        # Seconds since the epoch before which an instance is not asked again.
        self._paused: dict[str, float] = {}
        self._lock = threading.Lock()

    def thread(self, url: str, target: str | None) -> Thread:
        instance, status_id = split_target(target) if target else status_of(url)
        with self._lock:
            with self._calling(instance) as api:
                post = api.status(status_id)
            with self._calling(instance) as api:
                context = api.status_context(status_id)
        account = post["account"]
        return Thread(
            network=NETWORK,
            post_id=str(post["id"]),
            target=f"{instance}/{post['id']}",
            author_id=str(account["url"]),
            author=full_acct(str(account["acct"]), instance),
            created_at=_utc(post["created_at"]),
            replies=int(post["replies_count"] or 0),
            shares=int(post["reblogs_count"] or 0),
            quotes=0,
            likes=int(post["favourites_count"] or 0),
            replies_seen=tuple(_reply(status, instance) for status in context["descendants"]),
        )

    def still_there(self, url: str, reply_ids: Sequence[str]) -> set[str]:
        instance, _ = status_of(url)
        there: set[str] = set()
        with self._lock:
            for reply_id in dict.fromkeys(reply_ids):
                try:
                    with self._calling(instance) as api:
                        api.status(reply_id)
                except PostGone:
                    continue
                there.add(reply_id)
        return there

    @contextmanager
    def _calling(self, instance: str) -> Iterator[Mastodon]:
        """The instance's client, for calls whose Mastodon.py errors become the contract's."""
        paused = self._paused.get(instance, 0.0)
        if paused > self.clock():
            raise RateLimited(paused, f"{instance} asked to wait")
        client = self._client(instance)
        try:
            yield client.api
        except MastodonNotFoundError as e:
            self._note_remaining(instance, client)
            raise PostGone(f"{instance} has no such status") from e
        except MastodonRatelimitError as e:
            retry_at = self._retry_at(client)
            self._paused[instance] = retry_at
            raise RateLimited(retry_at, f"{instance} rate limited twoway") from e
        except MastodonNetworkError as e:
            raise FetchError(f"{instance} could not be reached: {e}") from e
        except MastodonError as e:
            # 5xx, and whatever else tells nothing of the post: an instance that serves its API only to
            # accounts ("authorized fetch") answers 401 to every status alike.
            raise FetchError(f"{instance} failed: {e}") from e
        else:
            self._note_remaining(instance, client)

    def _note_remaining(self, instance: str, client: _Client) -> None:
        """Pauses the instance until its window resets when its answer said no request is left."""
        api = client.api
        if api.ratelimit_remaining <= 0 and api.ratelimit_reset is not None:
            self._paused[instance] = float(api.ratelimit_reset)

    def _retry_at(self, client: _Client) -> float:
        now = self.clock()
        headers = client.last_headers or {}
        retry_after = headers.get("Retry-After")
        if retry_after:
            try:
                return now + max(0.0, float(retry_after))
            except ValueError:
                pass
            try:
                return parsedate_to_datetime(retry_after).timestamp()
            except (TypeError, ValueError):
                pass
        # Mastodon.py has read X-RateLimit-Reset, moved onto the local clock by the answer's Date.
        reset = client.api.ratelimit_reset
        if reset is not None and reset > now:
            return float(reset)
        return now + DEFAULT_PAUSE

    def _client(self, instance: str) -> _Client:
        client = self._clients.get(instance)
        if client is None:
            base = f"{self.api_url}/{instance}" if self.api_url else f"https://{instance}"
            client = self._clients[instance] = _Client(base, self.timeout)
        return client


class _Client:
    """One instance's Mastodon.py client, and the headers of its last answer (Mastodon.py keeps the
    rate-limit ones, not Retry-After)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.last_headers: Any = None
        session = requests.Session()
        session.hooks["response"].append(self._remember)
        self.api = Mastodon(
            api_base_url=base_url,
            user_agent=USER_AGENT,
            request_timeout=timeout,
            version_check_mode="none",
            ratelimit_method="throw",
            session=session,
        )

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_headers = response.headers


def status_of(url: str) -> tuple[str, str]:
    """(instance, status id) of a status link, `https://<instance>/@<user>/<id>` or
    `https://<instance>/users/<user>/statuses/<id>`; `PostGone` for any other."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    match segments:
        case [user, status_id] if user.startswith("@") and status_id.isdigit():
            pass
        case ["users", _, "statuses", status_id] if status_id.isdigit():
            pass
        case _:
            raise PostGone(f"not a Mastodon status link: {url}")
    if not parts.hostname:
        raise PostGone(f"not a Mastodon status link: {url}")
    return parts.hostname.lower(), status_id


def split_target(target: str) -> tuple[str, str]:
    instance, _, status_id = target.rpartition("/")
    if not instance or not status_id:
        raise PostGone(f"not a Mastodon target: {target}")
    return instance, status_id


def full_acct(acct: str, instance: str) -> str:
    """``user@home.instance``: a local account's acct is its username alone."""
    return acct if "@" in acct else f"{acct}@{instance}"


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)


def _reply(status: Any, instance: str) -> Reply:
    account = status["account"]
    return Reply(
        id=str(status["id"]),
        parent_id=str(status["in_reply_to_id"]),
        author_id=str(account["url"]),
        author=full_acct(str(account["acct"]), instance),
        text=plain_text(str(status["content"] or "")),
        url=str(status["url"] or status["uri"]),
        written_at=_utc(status["created_at"]),
    )


class _PlainText(HTMLParser):
    """Mastodon's HTML as its own plain-text formatter reads it: `<br>` a line break, a paragraph's end
    a blank line, every other tag stripped with its text kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(content: str) -> str:
    """A status's HTML content as plain text (see `_PlainText`)."""
    parser = _PlainText()
    parser.feed(content)
    parser.close()
    return "".join(parser.parts).strip()
