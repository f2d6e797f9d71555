"""Wiring: the Bolt apps that answer Slack and run the listeners, and Slack's OAuth install flow."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import InstallationStoreAuthorize
from slack_bolt.oauth import OAuthFlow
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation, InstallationStore
from sqlalchemy.exc import SQLAlchemyError

from bot.departures import came_back
from bot.deps import Deps, replica_name
from bot.homes import home_for
from bot.inbox import Inbox
from bot.installs import (
    BOT_SCOPES,
    DATABASE_DOWN_MESSAGE,
    INSTALL_PATH,
    NOT_INSTALLED_MESSAGE,
    REDIRECT_PATH,
)
from bot.relevance import IgnoredCount, LedgerView
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
    reads = deps.reads if deps.reads is not None else deps.sessions
    ignored = deps.ignored if deps.ignored is not None else IgnoredCount(deps.clock)
    app = _bolt_app(deps, token_verification=token_verification, front=True)
    # Bolt has verified the signature by now. An event that can't change the ledger is acknowledged
    # with no write; otherwise a signature seen before is a replay, and an event is claimed in the same
    # transaction, handed to the inbox and acknowledged.
    app.use(
        acknowledge(
            deps.sessions,
            deps.clock,
            inbox,
            tracked=LedgerView(reads, deps.clock),
            ignored=ignored,
        )
    )
    if deps.installations is not None:
        app.use(rehome(deps))
    register_front(app, deps)

    handlers = _bolt_app(deps, token_verification=False, front=False)
    if deps.installations is not None:
        handlers.use(rehome(deps))
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
    oauth = InstallFlow(settings=oauth_settings(deps, bolt_logger)) if config.distribution and front else None
    installations = deps.installations if config.distribution and not front else None
    authorize = (
        InstallationAuthorize(deps, bolt_logger)
        if config.distribution and deps.installations is not None
        else None
    )
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
        oauth_flow=oauth,
        # Bolt uses an Authorize instance as it is, OAuth or not (App.__init__); its type hint says callable.
        authorize=authorize,  # type: ignore[arg-type]
        installation_store=installations.store if installations is not None else None,
        installation_store_bot_only=True if installations is not None else None,
        user_facing_authorize_error_message=NOT_INSTALLED_MESSAGE if oauth else None,
    )
    app.error(_on_error)
    return app


class InstallationsUnreadable(RuntimeError):
    """The request's installation could not be read (the database is down): not the same as not installed."""


class _Reads(InstallationStore):
    """The installation store as Bolt's authorize uses it, remembering in each thread the read that raised."""

    def __init__(self, store: InstallationStore) -> None:
        self._store = store
        self._failed = threading.local()

    @property
    def logger(self) -> logging.Logger:
        return self._store.logger

    def failure(self) -> SQLAlchemyError | None:
        """The error of this thread's last read, and forget it."""
        error: SQLAlchemyError | None = getattr(self._failed, "error", None)
        self._failed.error = None
        return error

    def find_bot(self, **kwargs: Any) -> Bot | None:
        try:
            return self._store.find_bot(**kwargs)
        except SQLAlchemyError as error:
            self._failed.error = error
            raise

    def find_installation(self, **kwargs: Any) -> Installation | None:
        try:
            return self._store.find_installation(**kwargs)
        except SQLAlchemyError as error:
            self._failed.error = error
            raise

    def save(self, installation: Installation) -> None:
        self._store.save(installation)

    def save_bot(self, bot: Bot) -> None:
        self._store.save_bot(bot)


class InstallationAuthorize(InstallationStoreAuthorize):
    """Bolt's authorize on the installations (bot tokens only), except that an installation it could not
    read raises `InstallationsUnreadable`.

    Bolt's own logs a failing `find_bot` at INFO and answers None, which its authorization middleware takes
    for a workspace that uninstalled the app: Slack would get a 200 for an event that was never recorded,
    never deliver it again, and people running `/twoway` would be told twoway is not installed. Raised, the
    error reaches `_on_error`, which answers 503 (Slack delivers the event again) or tells the person.
    """

    def __init__(self, deps: Deps, logger: logging.Logger) -> None:
        config, installations = deps.config, deps.installations
        assert installations is not None
        self._reads = _Reads(installations.store)
        # As Bolt builds it from OAuthSettings, client credentials included (for token rotation), but
        # with Bolt's cache of what auth.test said of each token: without it, every request of every
        # workspace costs a call to Slack, which allows each workspace a few hundred a minute. The
        # installation is still read every time, so a workspace that removed twoway is refused at once,
        # and a rotated token is a new key.
        super().__init__(
            logger=logger,
            installation_store=self._reads,
            client_id=config.client_id,
            client_secret=config.client_secret.reveal() if config.client_secret else None,
            client=deps.client,
            bot_only=True,
            cache_enabled=True,
        )

    def __call__(self, **kwargs: Any) -> AuthorizeResult | None:
        self._reads.failure()
        result = super().__call__(**kwargs)
        failure = self._reads.failure()
        if result is None and failure is not None:
            # The driver's own message, without SQLAlchemy's statement and parameters.
            cause = getattr(failure, "orig", None) or failure
            raise InstallationsUnreadable(f"{type(cause).__name__}: {cause}".strip()) from failure
        return result


# Events about the authorized installation itself, not about the channel's ledger.
OWN_EVENTS = frozenset({"channel_left", "group_left", "app_uninstalled", "tokens_revoked", "app_home_opened"})
# The flag modal names its message's channel in private_metadata ("C…|ts"; handlers/shortcuts.py).
_VIEW_CHANNEL = re.compile(r"([CG][A-Z0-9]+)\|[0-9]+\.[0-9]+")


def rehome(deps: Deps) -> Callable[..., BoltResponse | None]:
    """Middleware, after Bolt's authorization: a request about a channel runs as the channel's home
    installation (`bot.homes`), whichever installation Slack authorized it as.

    In a channel shared by two workspaces that both installed twoway, Slack names one installation per
    event in `authorizations`, and commands and clicks come as the workspace of whoever acted; the
    listeners read `context.team_id` and use `client`, so setting those here to the home's keeps one
    ledger and one voice per channel without any listener knowing.
    """
    installations = deps.installations
    assert installations is not None

    def middleware(
        context: BoltContext, body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        channel_id = context.channel_id or _view_channel(body)
        team_id = context.team_id
        event = body.get("event")
        if (
            not channel_id
            or not team_id
            or channel_id.startswith("D")
            or (isinstance(event, dict) and event.get("type") in OWN_EVENTS)
        ):
            return next()
        home = home_for(deps, channel_id, team_id, context.enterprise_id)
        if home.team_id == team_id:
            return next()
        bot = installations.bot(home.team_id, home.enterprise_id)
        if bot is None or bot.bot_token is None:
            return next()
        context.set_authorize_result(
            AuthorizeResult(
                enterprise_id=home.enterprise_id,
                team_id=home.team_id,
                bot_token=bot.bot_token,
                bot_id=bot.bot_id,
                bot_user_id=bot.bot_user_id,
                bot_scopes=bot.bot_scopes,
            )
        )
        context["team_id"], context["enterprise_id"] = home.team_id, home.enterprise_id
        context["token"] = bot.bot_token
        context.client.token = bot.bot_token
        return next()

    return middleware


def _view_channel(body: dict[str, Any]) -> str | None:
    view = body.get("view")
    metadata = view.get("private_metadata") if isinstance(view, dict) else None
    found = _VIEW_CHANNEL.fullmatch(metadata) if isinstance(metadata, str) else None
    return found.group(1) if found else None


def _quiet_token_warning(record: logging.LogRecord) -> bool:
    return "`token` will be unused" not in record.getMessage()


def oauth_settings(deps: Deps, logger: logging.Logger) -> OAuthSettings:
    """Bolt's install flow and per-workspace authorization, on the installations in the ledger's database."""
    config, installations = deps.config, deps.installations
    if config.client_id is None or config.client_secret is None or installations is None:
        raise ValueError("the install flow needs SLACK_CLIENT_ID, SLACK_CLIENT_SECRET and Deps.installations")

    def installed(args: SuccessArgs) -> BoltResponse:
        logger.info("twoway was installed in workspace %s", args.installation.team_id)
        if args.installation.team_id:
            # Installed again within 30 days of leaving: its ledger is kept, not purged.
            came_back(deps.sessions, args.installation.team_id)
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


# A workspace's id as Slack writes it: "T" and capitals or digits (an org's starts with "E").
_TEAM_ID = re.compile(r"T[A-Z0-9]{1,31}")


class InstallFlow(OAuthFlow):
    """Bolt's OAuth flow, passing on to Slack's authorize URL only a `team` that is a workspace id.

    Bolt copies `/slack/install?team=…` into that URL as it came (slack_sdk's `AuthorizeUrlGenerator`
    does no encoding), so `?team=T1%26redirect_uri%3D…` would add parameters of the sender's choosing.
    Anything else is dropped, and the installer picks the workspace on Slack's page.
    """

    def build_authorize_url(self, state: str, request: BoltRequest) -> str:
        teams = request.query.get("team") or []
        team = teams[0] if len(teams) == 1 and _TEAM_ID.fullmatch(teams[0]) else None
        return self.settings.authorize_url_generator.generate(state=state, team=team)


def _on_error(error: Exception, request: BoltRequest) -> BoltResponse | None:
    """Bolt's one error handler: a listener or middleware that raised is logged; a request whose
    installation could not be read gets one line, a 503 and, where a person acted, the reason."""
    if not isinstance(error, InstallationsUnreadable):
        logger.error("listener failed", exc_info=error)
        return None
    context = request.context
    logger.error("could not read the installation of workspace %s: %s", context.team_id, error)
    if context.response_url is not None and context.respond is not None:
        # A command or a click: Slack delivers it once, so the person is told, as Bolt tells them that
        # twoway is not installed.
        context.respond(DATABASE_DOWN_MESSAGE)
        return BoltResponse(status=200, body="")
    return BoltResponse(status=503, body=DATABASE_DOWN_MESSAGE)
