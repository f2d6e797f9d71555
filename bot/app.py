"""Wiring: the Bolt app, its Web API client and the dependencies every handler receives."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.inbox import Inbox
from bot.installs import BOT_SCOPES, INSTALL_PATH, NOT_INSTALLED_MESSAGE, REDIRECT_PATH, Installations
from bot.publish import Publisher
from bot.replay import replay_guard
from bot.scheduler import Schedules

logger = logging.getLogger(__name__)

# Threads running the front app's listeners (Bolt's default is 5).
LISTENER_THREADS = 16

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


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


def build_app(deps: Deps, *, token_verification: bool = True) -> App:
    """The Bolt app with every listener registered; unless told not to, it checks the token with auth.test.

    Events are claimed and acknowledged here, then handled by a second app, the handlers' app, in the
    inbox's worker threads (`bot.inbox`): Slack's 200 never waits on a listener, and no acknowledged
    event is lost with the process that took it.
    """
    # Imported here so that `bot` stays importable by handlers without a cycle.
    from handlers import register_all

    inbox = deps.inbox if deps.inbox is not None else Inbox(deps.sessions, deps.clock, replica_name())
    app = _bolt_app(deps, token_verification=token_verification, front=True)
    # Bolt has verified the signature by now; a signature seen before is a replay. Events are
    # claimed in the same transaction, handed to the inbox and acknowledged.
    app.use(replay_guard(deps.sessions, deps.clock, inbox))
    register_all(app, deps)

    handlers = _bolt_app(deps, token_verification=False, front=False)
    register_all(handlers, deps)

    def handle(body: dict[str, Any]) -> bool:
        # Socket Mode's request kind: already verified, so Bolt checks no signature again.
        response = handlers.dispatch(BoltRequest(body=body, mode="socket_mode"))
        # 404 is Bolt's "no listener wanted it": nothing to do, which is done.
        return response.status < 500

    inbox.serve(handle)
    return app


def _bolt_app(deps: Deps, *, token_verification: bool, front: bool) -> App:
    """A Bolt app on ``deps``: the front one answers Slack; the other runs event listeners to the end."""
    config = deps.config
    if not config.distribution:
        # Bolt turns its own OAuth on (file-based stores, per-workspace authorization) whenever these
        # are in the environment, even empty, as a .env template leaves them; twoway's config has them unset.
        for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"):
            if not os.environ.get(name, "").strip():
                os.environ.pop(name, None)
    bolt_logger = logging.getLogger("twoway.bolt")
    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns that our client wins; it does, by design.
    bolt_logger.addFilter(_quiet_token_warning)
    oauth = oauth_settings(deps, bolt_logger) if config.distribution and front else None
    installations = deps.installations if config.distribution and not front else None
    app = App(
        client=deps.client,
        signing_secret=config.signing_secret.reveal() if config.signing_secret else "",
        # Socket Mode requests arrive over an authenticated socket, not signed HTTP; the handlers'
        # app gets requests the front app verified.
        request_verification_enabled=front and not config.socket_mode,
        token_verification_enabled=token_verification,
        # The handlers' app runs in the inbox's threads: its listeners run before dispatch returns.
        process_before_response=not front,
        # Commands and clicks ack from these threads, then do their work there: with Bolt's five,
        # a burst of slow work kept the next request from being acknowledged.
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="twoway-listener")
        if front
        else None,
        logger=bolt_logger,
        oauth_settings=oauth,
        installation_store=installations.store if installations is not None else None,
        installation_store_bot_only=True if installations is not None else None,
        user_facing_authorize_error_message=NOT_INSTALLED_MESSAGE if oauth else None,
    )
    app.error(_log_failure)
    return app


def _quiet_token_warning(record: logging.LogRecord) -> bool:
    return "`token` will be unused" not in record.getMessage()


def oauth_settings(deps: Deps, logger: logging.Logger) -> OAuthSettings:
    """Bolt's install flow and per-workspace authorization, on the installations in the ledger's database."""
    config, installations = deps.config, deps.installations
    if config.client_id is None or config.client_secret is None or installations is None:
        raise ValueError("the install flow needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and Deps.installations")

    def installed(args: SuccessArgs) -> BoltResponse:
        logger.info("twoway was installed in workspace %s", args.installation.team_id)
        if deps.schedules is not None:
            # A workspace that installs again gets its channels' digests back at once, not at the next start.
            deps.schedules.sync_all()
        return args.default.success(args)

    def failed(args: FailureArgs) -> BoltResponse:
        return args.default.failure(args)

    return OAuthSettings(
        client_id=config.client_id,
        client_secret=config.client_secret.reveal(),
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=config.redirect_uri,
        install_path=INSTALL_PATH,
        # /slack/install is what an "Add to Slack" button links to: straight on to Slack, no second button.
        install_page_rendering_enabled=False,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=config.authorize_url,
        installation_store=installations.store,
        installation_store_bot_only=True,
        state_store=installations.states,
        callback_options=CallbackOptions(success=installed, failure=failed),
        logger=logger,
    )


def _log_failure(error: Exception) -> None:
    logger.error("listener failed", exc_info=error)
