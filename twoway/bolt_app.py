"""Wiring: the Bolt apps that answer Slack and run the listeners, and Slack's OAuth install flow."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings

from bot.deps import Deps, replica_name
from bot.inbox import Inbox
from bot.installs import BOT_SCOPES, INSTALL_PATH, NOT_INSTALLED_MESSAGE, REDIRECT_PATH
from handlers import register_events, register_front
from twoway.acknowledge import acknowledge

logger = logging.getLogger(__name__)

# Threads running the front app's listeners (Bolt's default is 5).
LISTENER_THREADS = 16


def build_app(deps: Deps, *, token_verification: bool = True) -> App:
    """The Bolt app that answers Slack; unless told not to, it checks the token with auth.test.

    It runs the listeners of commands and interactivity itself. Events are claimed and acknowledged by
    its middleware (`twoway.acknowledge`), then handled by a second app, the events app, in the inbox's
    worker threads (`bot.inbox`): Slack's 200 never waits on a listener, and no acknowledged event is
    lost with the process that took it.
    """
    inbox = deps.inbox if deps.inbox is not None else Inbox(deps.sessions, deps.clock, replica_name())
    app = _bolt_app(deps, token_verification=token_verification, front=True)
    # Bolt has verified the signature by now; a signature seen before is a replay. Events are
    # claimed in the same transaction, handed to the inbox and acknowledged.
    app.use(acknowledge(deps.sessions, deps.clock, inbox))
    register_front(app, deps)

    handlers = _bolt_app(deps, token_verification=False, front=False)
    register_events(handlers, deps)

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
