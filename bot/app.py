"""Wiring: the Bolt app, its Web API client and the dependencies every handler receives."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App, BoltResponse
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
from bot.installs import BOT_SCOPES, INSTALL_PATH, NOT_INSTALLED_MESSAGE, REDIRECT_PATH, Installations
from bot.publish import Publisher
from bot.replay import replay_guard
from bot.scheduler import Schedules
from storage.queries import claim_event, release_event

logger = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Deps:
    """What handlers need besides the Bolt request: settings, storage, time and Slack.

    ``publisher`` posts digests exactly once; ``schedules`` is told when a channel's schedule
    changes. Both are None where nothing schedules (some tests), and the commands say so.
    ``installations`` is set in distribution mode only; ``client`` then holds no token, and each
    request gets a client with its workspace's.
    """

    config: Config
    sessions: sessionmaker[Session]
    client: WebClient
    clock: Clock = utc_now
    publisher: Publisher | None = None
    schedules: Schedules | None = None
    installations: Installations | None = None


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
    """The Bolt app with every listener registered; unless told not to, it checks the token with auth.test."""
    # Imported here so that `bot` stays importable by handlers without a cycle.
    from handlers import register_all

    config = deps.config
    bolt_logger = logging.getLogger("twoway.bolt")
    # Bolt also reads SLACK_BOT_TOKEN from the environment and warns that our client wins; it does, by design.
    bolt_logger.addFilter(lambda record: "`token` will be unused" not in record.getMessage())
    oauth = oauth_settings(deps, bolt_logger) if config.distribution else None
    app = App(
        client=deps.client,
        signing_secret=config.signing_secret.reveal() if config.signing_secret else "",
        # Socket Mode requests arrive over an authenticated socket, not signed HTTP.
        request_verification_enabled=not config.socket_mode,
        token_verification_enabled=token_verification,
        logger=bolt_logger,
        oauth_settings=oauth,
        user_facing_authorize_error_message=NOT_INSTALLED_MESSAGE if oauth else None,
    )
    # Bolt has verified the signature by now; a signature seen before is a replay.
    app.use(replay_guard(deps.sessions, deps.clock))
    app.use(_once_per_event(deps))
    app.error(_release_failed_event(deps))
    register_all(app, deps)
    return app


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


def _event_key(body: dict[str, Any]) -> tuple[str, str] | None:
    if body.get("type") != "event_callback" or not body.get("event_id") or not body.get("team_id"):
        return None
    return str(body["team_id"]), str(body["event_id"])


def _once_per_event(deps: Deps) -> Callable[..., BoltResponse | None]:
    """Global middleware: an event Slack delivers again (retries, several sockets) is handled once."""

    def once_per_event(body: dict[str, Any], next_: Callable[[], None]) -> BoltResponse | None:
        key = _event_key(body)
        if key is not None:
            with deps.sessions.begin() as s:
                first = claim_event(s, key[0], key[1], deps.clock())
            if not first:
                logger.info(
                    "event %s of %s was already handled; acknowledging the redelivery", key[1], key[0]
                )
                return BoltResponse(status=200, body="")
        next_()
        return None

    return once_per_event


def _release_failed_event(deps: Deps) -> Callable[..., None]:
    """When a listener fails, forget the event so that Slack's redelivery is handled again."""

    def on_error(error: Exception, body: dict[str, Any]) -> None:
        logger.error("listener failed", exc_info=error)
        key = _event_key(body)
        if key is not None:
            with deps.sessions.begin() as s:
                release_event(s, key[0], key[1])

    return on_error
