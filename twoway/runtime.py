"""Starting and stopping twoway: migrations, the Bolt app, and HTTP or Socket Mode serving."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from waitress.server import TcpWSGIServer
from waitress.wasyncore import close_all

from bot.asks import Asker
from bot.claims import Releaser, names_of
from bot.clock import Clock, utc_now
from bot.config import Config
from bot.departures import came_back
from bot.deps import Deps, make_web_client, replica_name
from bot.digest.chart import render_chart
from bot.digest.chart_worker import ChartWorker
from bot.digest.compose import ComposedDigest, compose_digest
from bot.digest.period import Period
from bot.digest.publish import Publisher
from bot.inbox import Inbox
from bot.installs import INSTALL_PATH, Installations
from bot.nudges import Nudger
from bot.people import People
from bot.refresh import Refresher
from bot.relevance import IgnoredCount
from bot.resolver import LinkResolver, Resolver, make_opener
from bot.scheduler import Schedules, known_teams
from bot.weekly import WeeklyDms
from storage.db import make_engine, make_read_engine, make_session_factory
from storage.encryption import EncryptionKeyError
from twoway.bolt_app import build_app
from twoway.http_server import create_server, make_wsgi_app

logger = logging.getLogger(__name__)


def database_ok(engine: Engine) -> bool:
    """True when the ledger's database answers a trivial query."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        logger.exception("the database did not answer the health check")
        return False
    return True


@dataclass
class Runtime:
    """A running twoway: its engines, app, and whichever of HTTP server or socket it serves on.

    ``read_engine`` serves the reads on the ack path (`storage.db.make_read_engine`); it may be ``engine``.
    """

    engine: Engine
    deps: Deps
    app: App
    read_engine: Engine | None = None
    schedules: Schedules | None = None
    # Draws digests' charts in a process of its own; stopped with the runtime.
    charts: ChartWorker | None = None
    server: TcpWSGIServer | None = None
    socket: SocketModeHandler | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The HTTP base URL this runtime listens on (HTTP mode only)."""
        assert self.server is not None
        host, port = self.server.getsockname()[:2]
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        if self.schedules is not None:
            self.schedules.start()
        if self.socket is not None:
            self.socket.start()
        else:
            assert self.server is not None
            self.server.run()

    def start_background(self, *, scheduling: bool = True) -> None:
        """Serve from a daemon thread (HTTP) or a connected socket, and return; schedules too, if asked."""
        if scheduling and self.schedules is not None:
            self.schedules.start()
        if self.socket is not None:
            self.socket.connect()
            return
        assert self.server is not None
        self._thread = threading.Thread(target=self.server.run, name="twoway-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self.schedules is not None:
            self.schedules.shutdown()
        if self.socket is not None:
            self.socket.close()
        if self.server is not None:
            self.server.close()
            # Keep-alive connections would hold waitress's loop open until they time out.
            close_all(self.server._map)  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.deps.ignored is not None:
            # No request is served any more: the events ignored since the last log line are logged now.
            self.deps.ignored.flush()
        if self.deps.inbox is not None:
            # Events already acknowledged are finished, not left for another replica's recovery.
            self.deps.inbox.shutdown(wait=True)
        if self.charts is not None:
            self.charts.close()
        if self.read_engine is not None and self.read_engine is not self.engine:
            self.read_engine.dispose()
        self.engine.dispose()


def make_publisher(
    sessions: sessionmaker[Session],
    client_for: Callable[[str], WebClient],
    clock: Clock,
    replica: str,
    people: People | None = None,
    charts: ChartWorker | None = None,
) -> Publisher:
    """The digest publisher of this replica, composing digests from the ledger; with ``people``, those
    on a waiting comment are named as Slack shows them, without a ping; with ``charts``, the charts are
    drawn in its process, else in this one."""
    draw = charts or render_chart
    if people is None:
        return Publisher(sessions, client_for, compose_digest, replica, clock, draw_chart=draw)
    known = people

    def compose(s: Session, team_id: str, channel_id: str, period: Period, now: datetime) -> ComposedDigest:
        return compose_digest(
            s, team_id, channel_id, period, now, names=lambda: names_of(known, client_for(team_id), team_id)
        )

    return Publisher(sessions, client_for, compose, replica, clock, draw_chart=draw, people=known)


def open_installations(config: Config, engine: Engine) -> Installations | None:
    """In distribution mode, the installations in the ledger's database, their tables created if new;
    `EncryptionKeyError` when the configured key does not decrypt the tokens they hold."""
    cipher = config.cipher()
    if not config.distribution or config.client_id is None or cipher is None:
        return None
    installations = Installations(engine, config.client_id, cipher)
    installations.create_tables()
    installations.check_key()
    return installations


def make_client_for(config: Config, installations: Installations | None) -> Callable[[str], WebClient]:
    """``client_for`` of Publisher and Nudger: each workspace's client, with its installation's bot token
    in distribution mode (`NotInstalled` once it is uninstalled), else the one configured bot token."""
    if installations is None:
        client = make_web_client(config)
        return lambda team_id: client

    def client_for(team_id: str) -> WebClient:
        # Looked up each time, so that an uninstall or a reinstall's new token counts at once.
        return make_web_client(config, token=installations.bot_token(team_id))

    return client_for


def prepare(
    config: Config,
    host: str = "0.0.0.0",  # noqa: S104 - a server behind a load balancer
    *,
    clock: Clock = utc_now,
    schedule: bool = True,
    migrate: bool = True,
) -> Runtime:
    """Migrate the ledger, verify the bot token with auth.test, and bind the HTTP port or open the socket.

    With ``schedule``, the runtime also runs each channel's digest and the nudges once started. In
    distribution mode there is no bot token to verify: each installed workspace runs with its own.
    Without ``migrate``, the caller has brought the ledger up to date already.
    """
    engine = make_engine(config.database_url)
    if migrate:
        # Imported here: a server whose ledger was migrated by another process never loads Alembic.
        from storage.migrate import upgrade

        applied = upgrade(engine)
        if applied:
            logger.info("applied ledger migrations: %s", ", ".join(applied))
    sessions = make_session_factory(engine)
    try:
        installations = open_installations(config, engine)
    except EncryptionKeyError:
        engine.dispose()
        raise
    client = make_web_client(config)
    replica = replica_name()
    client_for = make_client_for(config, installations)
    # An uninstalled workspace keeps its ledger (and so its channels) but must run nothing.
    teams = installations.teams if installations is not None else known_teams(sessions)

    people = People()
    charts = ChartWorker()
    publisher = make_publisher(sessions, client_for, clock, replica, people, charts)
    inbox = Inbox(sessions, clock, replica, lease=timedelta(seconds=config.event_lease_seconds))
    links = LinkResolver(
        sessions, clock, Resolver(make_opener()) if config.resolve_links else None, client_for
    )
    schedules = (
        Schedules(
            sessions,
            publisher,
            Nudger(sessions, client_for, replica, clock),
            teams,
            inbox=inbox,
            asker=Asker(sessions, client_for, clock),
            links=links,
            refresher=Refresher(sessions, client_for, replica, clock, people=people),
            releaser=Releaser(sessions, client_for, clock),
            weekly=WeeklyDms(sessions, client_for, replica, clock),
        )
        if schedule
        else None
    )
    read_engine = make_read_engine(engine)
    deps = Deps(
        config,
        sessions,
        client,
        clock,
        publisher=publisher,
        schedules=schedules,
        installations=installations,
        inbox=inbox,
        reads=make_session_factory(read_engine),
        ignored=IgnoredCount(clock),
        people=people,
    )
    app = build_app(deps)
    if installations is None and config.bot_token is not None:
        # A working bot token of a workspace that removed twoway (which revoked the old token) means it
        # installed twoway again: its ledger is kept, not purged.
        came_back(sessions, client.auth_test()["team_id"])
    runtime = Runtime(
        engine=engine, deps=deps, app=app, read_engine=read_engine, schedules=schedules, charts=charts
    )
    if config.app_token is not None:
        runtime.socket = SocketModeHandler(app, config.app_token.reveal())
        logger.info("twoway connects over Socket Mode")
    else:
        runtime.server = create_server(
            make_wsgi_app(app, lambda: database_ok(engine)),
            host,
            config.port,
            trusted_proxy=config.trusted_proxy,
        )
        logger.info("twoway is listening on %s/slack/events", runtime.url)
        if installations is not None:
            logger.info("workspaces install twoway at %s%s", runtime.url, INSTALL_PATH)
    return runtime
