"""What every listener and job receives: settings, the ledger's sessions, the clock, and Slack."""

from __future__ import annotations

import functools
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler, default_interval_calculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utc_now
from bot.config import Config
from bot.emoji_names import EmojiNames
from bot.people import People

if TYPE_CHECKING:
    # Only named here: bot.deps imports none of the parts it carries (but `People`, which imports nothing
    # of twoway's), so that any of them can import it.
    from bot.digest.publish import Publisher
    from bot.inbox import Inbox
    from bot.installs import Installations
    from bot.relevance import IgnoredCount
    from bot.scheduler import Schedules

T = TypeVar("T")


@dataclass(frozen=True)
class Deps:
    """What handlers need besides the Bolt request: settings, storage, time and Slack.

    ``publisher`` posts digests exactly once; ``schedules`` is told when a channel's schedule
    changes. Both are None where nothing schedules (some tests), and the commands say so.
    ``installations`` is set in distribution mode only; ``client`` then holds no token, and each
    request gets a client with its workspace's. ``inbox`` takes events from Slack and runs their
    listeners; the app makes one of its own when none is given.

    ``reads`` are sessions that only read and never wait behind a writer (`storage.db.make_read_engine`),
    for the relevance view on the ack path; ``sessions`` stand in when None. ``ignored`` counts the events
    the ack path ignores, and is flushed to the log when the process stops; the app makes one of its own
    when none is given.

    ``people`` finds the workspace member a command names in plain text (`@ada`), and keeps each
    workspace's member list a while, so a burst of commands lists it once. ``emoji`` knows Slack's standard
    emoji and keeps each workspace's custom ones a few minutes.
    """

    config: Config
    sessions: sessionmaker[Session]
    client: WebClient
    clock: Clock = utc_now
    publisher: Publisher | None = None
    schedules: Schedules | None = None
    installations: Installations | None = None
    inbox: Inbox | None = None
    reads: sessionmaker[Session] | None = None
    ignored: IgnoredCount | None = None
    people: People = field(default_factory=People)
    emoji: EmojiNames = field(default_factory=EmojiNames)


def replica_name() -> str:
    """This process among the replicas sharing the database: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


# Calls Slack may have carried out although it answered a server error or the connection broke ("it's
# possible some aspect of the operation succeeded", docs.slack.dev on fatal_error): a blind repeat would
# post twice. The retry handlers leave them alone, and their callers look before they post again
# (`bot.posting.post_once`).
ONCE_ONLY = frozenset({"chat.postMessage", "files.completeUploadExternal"})


def _once_only(request: HttpRequest) -> bool:
    return request.url.rstrip("/").rsplit("/", 1)[-1] in ONCE_ONLY


class _LeavesOnceOnlyAlone(RetryHandler):
    """Put before one of slack_sdk's retry handlers: it retries as that one does, but never a call in
    ONCE_ONLY."""

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return not _once_only(request) and super()._can_retry(
            state=state, request=request, response=response, error=error
        )


class _RepeatServerErrors(_LeavesOnceOnlyAlone, ServerErrorRetryHandler):
    """slack_sdk's retry on 500 and 503, for every call but those that must happen once."""


class _RepeatDroppedConnections(_LeavesOnceOnlyAlone, ConnectionErrorRetryHandler):
    """slack_sdk's retry on a reset or dropped connection, for every call but those that must happen once."""


def retry_handlers(
    interval: RetryIntervalCalculator = default_interval_calculator,
) -> list[RetryHandler]:
    """What twoway's clients retry: rate limits (Slack did nothing), and server errors and dropped
    connections except on the calls in ONCE_ONLY."""
    return [
        _RepeatDroppedConnections(max_retry_count=2, interval_calculator=interval),
        RateLimitErrorRetryHandler(max_retry_count=3, interval_calculator=interval),
        _RepeatServerErrors(max_retry_count=2, interval_calculator=interval),
    ]


def make_web_client(config: Config, token: str | None = None) -> WebClient:
    """A Web API client for `SLACK_API_URL`; it waits out rate limits, and retries server errors and
    dropped connections except for the calls in ONCE_ONLY.

    It uses ``token``, else the configured bot token (None in distribution mode).
    """
    if token is None and config.bot_token is not None:
        token = config.bot_token.reveal()
    return WebClient(
        token=token,
        base_url=config.slack_api_url,
        timeout=10,
        retry_handlers=retry_handlers(),
    )


def bind(listener: Callable[..., T], deps: Deps) -> Callable[..., T]:
    """``listener`` with ``deps`` as its first argument, under its own name.

    Bolt hands a listener the rest of its arguments by name (``ack``, ``event``, ``client``…), so a
    listener is a plain module-level function that a test can call with fakes.
    """
    bound = functools.partial(listener, deps)
    # Not functools.wraps: Bolt would unwrap it and ask for ``deps`` by name.
    bound.__name__ = listener.__name__  # type: ignore[attr-defined]
    return bound
