"""What every listener and job receives: settings, the ledger's sessions, the clock, and Slack."""

from __future__ import annotations

import functools
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock, utc_now
from bot.config import Config

if TYPE_CHECKING:
    # Only named here: bot.deps imports none of the parts it carries, so that any of them can import it.
    from bot.digest.publish import Publisher
    from bot.inbox import Inbox
    from bot.installs import Installations
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
    """

    config: Config
    sessions: sessionmaker[Session]
    client: WebClient
    clock: Clock = utc_now
    publisher: Publisher | None = None
    schedules: Schedules | None = None
    installations: Installations | None = None
    inbox: Inbox | None = None


def replica_name() -> str:
    """This process among the replicas sharing the database: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def make_web_client(config: Config, token: str | None = None) -> WebClient:
    """A Web API client for `SLACK_API_URL`; it retries rate limits, server errors and dropped connections.

    It uses ``token``, else the configured bot token (None in distribution mode).
    """
    if token is None and config.bot_token is not None:
        token = config.bot_token.reveal()
    return WebClient(
        token=token,
        base_url=config.slack_api_url,
        timeout=10,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
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
