"""Which workspaces twoway is installed in, in distribution mode, and each one's bot token.

Installations live in the ledger's own database, in the tables of slack_sdk's SQLAlchemy stores
(``slack_installations``, ``slack_bots``, ``slack_oauth_states``). Those stores keep their own
``MetaData`` and their own schema across slack_sdk versions, so their tables are created here at
start rather than by our Alembic migrations. Their tokens are stored encrypted with
``TWOWAY_ENCRYPTION_KEY`` (``storage.installations.EncryptedInstallationStore``). ``twoway purge``
counts and deletes a workspace's rows in them with ``storage.installations``.

An installation is what lets a workspace's work run: ``bot_token`` feeds its Web API client,
``teams`` lists the workspaces whose schedules run, and ``forget`` (on uninstall) ends both while
the workspace's ledger stays 30 days, in case it installs twoway again (``bot.departures``).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import MultiFernet
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine, delete, desc, select, text

from bot import departures
from bot.deps import Deps
from storage.encryption import ENCRYPTION_KEY_ENV, EncryptionKeyError, UndecryptableSecret
from storage.installations import EncryptedInstallationStore

logger = logging.getLogger(__name__)

# What an install asks for: the manifest's bot scopes (tests/test_manifest.py keeps them equal).
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "emoji:read",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "im:write",
    "reactions:read",
    "reactions:write",
    "users:read",
)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# How long a person has between opening /slack/install and approving in Slack.
STATE_EXPIRATION_SECONDS = 600
# Each replica deletes expired OAuth states at most this often, when an install starts.
PURGE_STATES_EVERY_SECONDS = 60
NOT_INSTALLED_MESSAGE = (
    "twoway is no longer installed in this workspace. Ask a workspace admin to add it again to use it here."
)
DATABASE_DOWN_MESSAGE = "twoway can't reach its database, try again in a minute."
# Replicas starting together queue on this advisory lock instead of racing to create the same tables.
_PG_CREATE_LOCK = 0x7477_6F69  # "twoi"


class NotInstalled(LookupError):
    """twoway holds no bot token for this workspace: it was never installed there, or was uninstalled."""


class Installations:
    """The installations of one Slack app (by client id) in the ledger's database, their tokens
    encrypted with ``cipher``."""

    def __init__(self, engine: Engine, client_id: str, cipher: MultiFernet) -> None:
        self.engine = engine
        self.client_id = client_id
        self.store = EncryptedInstallationStore(client_id, engine, cipher, logger=logger)
        self.states = OAuthStates(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine, logger=logger)

    def create_tables(self) -> None:
        """Create the stores' tables where they are missing; leave existing ones and their rows alone."""
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
                    {"key": _PG_CREATE_LOCK},
                )
            self.store.metadata.create_all(connection)
            self.states.metadata.create_all(connection)

    def check_key(self) -> None:
        """Raise `EncryptionKeyError` unless the key decrypts the newest bot token stored: a wrong key
        stops the start, rather than every workspace's requests one by one."""
        bots = self.store.bots
        try:
            with self.engine.connect() as connection:
                connection.scalar(
                    select(bots.c.bot_token)
                    .where(bots.c.client_id == self.client_id, bots.c.bot_token.is_not(None))
                    .order_by(desc(bots.c.installed_at))
                    .limit(1)
                )
        except UndecryptableSecret:
            raise EncryptionKeyError(
                f"{ENCRYPTION_KEY_ENV} does not decrypt the Slack tokens this database holds: set the key "
                "they were encrypted with (while rotating, the new key, a comma, then the old one)"
            ) from None

    def bot_token(self, team_id: str) -> str:
        """The workspace's newest bot token; `NotInstalled` when it has none."""
        bots = self.store.bots
        with self.engine.connect() as connection:
            # By team alone: a workspace of an Enterprise Grid org installs with its enterprise id set,
            # and the schedules that ask here know only the team.
            token = connection.scalar(
                select(bots.c.bot_token)
                .where(
                    bots.c.client_id == self.client_id,
                    bots.c.team_id == team_id,
                    bots.c.bot_token.is_not(None),
                )
                .order_by(desc(bots.c.installed_at))
                .limit(1)
            )
        if not token:
            raise NotInstalled(f"twoway is not installed in workspace {team_id}")
        return str(token)

    def bot(self, team_id: str, enterprise_id: str | None) -> Bot | None:
        """The workspace's newest bot (token, bot id, bot user), keyed as slack_sdk keys installations,
        by (enterprise_id, team_id); None when it has none."""
        bot = self.store.find_bot(enterprise_id=enterprise_id, team_id=team_id)
        return bot if bot is not None and bot.bot_token else None

    def teams(self) -> list[str]:
        """Every workspace with a bot token of this app, sorted."""
        bots = self.store.bots
        with self.engine.connect() as connection:
            found = connection.scalars(
                select(bots.c.team_id)
                .where(
                    bots.c.client_id == self.client_id,
                    bots.c.team_id.is_not(None),
                    bots.c.bot_token.is_not(None),
                )
                .distinct()
                .order_by(bots.c.team_id)
            )
            return [str(team_id) for team_id in found]

    def forget(self, team_id: str) -> None:
        """Delete the workspace's installations and bot tokens; its ledger stays."""
        with self.engine.begin() as connection:
            for table in (self.store.bots, self.store.installations):
                connection.execute(
                    delete(table).where(table.c.client_id == self.client_id, table.c.team_id == team_id)
                )


class OAuthStates(SQLAlchemyOAuthStateStore):
    """slack_sdk's OAuth state store, which also deletes the states that expired.

    The store checks a state's `expire_at` when the installer comes back with it, and never deletes one
    nobody came back with: each unfinished `GET /slack/install` left a row for good. Starting an install
    now first deletes the expired ones (at most once a minute in each replica).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._purged_at: float | None = None

    def issue(self, *args: Any, **kwargs: Any) -> str:
        with self._lock:
            due = self._purged_at is None or time.monotonic() - self._purged_at >= PURGE_STATES_EVERY_SECONDS
            if due:
                self._purged_at = time.monotonic()
        if due:
            gone = self.forget_expired()
            if gone:
                logger.debug("deleted %d expired OAuth states", gone)
        return super().issue(*args, **kwargs)

    def forget_expired(self) -> int:
        """Delete the states whose `expire_at` has passed; return how many there were."""
        # The store writes expire_at as naive UTC (slack_sdk's normalize_datetime_for_db).
        now = datetime.now(UTC).replace(tzinfo=None)
        states = self.oauth_states
        with self.engine.begin() as connection:
            return connection.execute(states.delete().where(states.c.expire_at <= now)).rowcount


# What each event that ends an install means, as the log says it.
LOST = {"app_uninstalled": "twoway was uninstalled", "tokens_revoked": "twoway's bot token was revoked"}


def stop_working_in(deps: Deps, team_id: str | None, reason: str) -> None:
    """Stop a workspace's work when twoway loses it (``reason``: app_uninstalled, tokens_revoked); its
    ledger is kept ``KEEP_AFTER_LEAVING`` in case it comes back, then purged (`bot.departures`)."""
    if not team_id:
        return
    purge_on = departures.left(deps.sessions, team_id, deps.clock(), reason)
    if deps.installations is not None:
        deps.installations.forget(team_id)
    if deps.schedules is not None:
        # The workspace is no longer among the teams whose schedules run, so its digest jobs go.
        deps.schedules.sync_all()
    why, when = LOST.get(reason, reason), f"{purge_on:%Y-%m-%d %H:%M} UTC"
    if deps.installations is None:
        logger.warning(
            "%s in workspace %s: SLACK_BOT_TOKEN no longer works there; its schedules stopped, and its "
            "ledger is deleted on %s unless twoway is started with a new token of that workspace",
            why,
            team_id,
            when,
        )
        return
    logger.info(
        "%s in workspace %s: its schedules stopped, and its ledger is deleted on %s unless it installs "
        "twoway again",
        why,
        team_id,
        when,
    )
