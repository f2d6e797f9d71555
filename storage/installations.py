"""The installation tables of slack_sdk's SQLAlchemy stores: their secrets encrypted, a workspace's rows.

Those stores keep their own ``MetaData`` and their own schema across slack_sdk versions, and the
app creates their tables when it starts in distribution mode, not through our migrations: the
tables exist only where distribution mode has run.

`EncryptedInstallationStore` is slack_sdk's store with every token column (and the incoming webhook
URL, which posts to a channel without a token) stored encrypted; Bolt and ``bot.installs`` read them
back in the clear through it. Migration 0010 encrypted the rows written before it
(`encrypt_secrets`); ``twoway rotate-key`` re-encrypts them with a new key (`rotate_secrets`).

``twoway purge`` counts and deletes a workspace's rows in them alongside its ledger
(``storage.workspace_rows``); those functions take a session and a ``team_id`` first and filter on
it. None commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from cryptography.fernet import MultiFernet
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Column, Connection, Engine, MetaData, Table, delete, func, inspect, or_, select, update
from sqlalchemy.orm import Session

from storage.encryption import EncryptedText, decrypt, encrypt, rotate

_logger = logging.getLogger(__name__)

# Every secret slack_sdk's store keeps, by table: what lets someone act as the app in a workspace.
SECRET_COLUMNS: dict[str, tuple[str, ...]] = {
    SQLAlchemyInstallationStore.default_installations_table_name: (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
    SQLAlchemyInstallationStore.default_bots_table_name: ("bot_token", "bot_refresh_token"),
}


class EncryptedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy installation store, its secret columns encrypted with ``cipher``.

    slack_sdk builds the tables; their secret columns are then redefined as `EncryptedText`
    (SQLAlchemy's ``extend_existing``), so every statement the store runs encrypts on the way in and
    decrypts on the way out, and its tables are created with TEXT columns, wide enough for a
    ciphertext (a Fernet token is about 1.4 times its clear text plus 76 characters).
    """

    def __init__(
        self, client_id: str, engine: Engine, cipher: MultiFernet, logger: logging.Logger = _logger
    ) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=logger)
        self.bots = _encrypted(self.bots, cipher)
        self.installations = _encrypted(self.installations, cipher)


def _encrypted(table: Table, cipher: MultiFernet) -> Table:
    columns: list[Column[str]] = [
        Column(name, EncryptedText(cipher, f"{table.name}.{name}")) for name in SECRET_COLUMNS[table.name]
    ]
    return Table(table.name, table.metadata, *columns, extend_existing=True)


def _store_tables(connection: Connection) -> list[Table]:
    """The stores' tables that exist in this database, as slack_sdk defines them (secrets as stored):
    none where distribution mode never ran."""
    metadata = MetaData()
    tables = [
        SQLAlchemyInstallationStore.build_installations_table(
            metadata, SQLAlchemyInstallationStore.default_installations_table_name
        ),
        SQLAlchemyInstallationStore.build_bots_table(
            metadata, SQLAlchemyInstallationStore.default_bots_table_name
        ),
    ]
    existing = inspect(connection)
    return [table for table in tables if existing.has_table(table.name)]


def _installation_tables(s: Session) -> list[Table]:
    return _store_tables(s.connection())


def count_secret_rows(connection: Connection) -> dict[str, int]:
    """Return the number of rows holding at least one secret, of every app, keyed by table name."""
    counts = {}
    for table in _store_tables(connection):
        holding = or_(*(table.c[name].is_not(None) for name in SECRET_COLUMNS[table.name]))
        counts[table.name] = connection.scalar(select(func.count()).select_from(table).where(holding)) or 0
    return counts


def rewrite_secrets(connection: Connection, change: Callable[[str, str], str]) -> dict[str, int]:
    """Replace every stored secret ``v`` of column ``c`` (``"table.column"``) by ``change(v, c)``, in
    every app's rows; return how many were rewritten, keyed by table name. Raises whatever ``change``
    raises, leaving the caller's transaction to roll back."""
    rewritten = {}
    for table in _store_tables(connection):
        names = SECRET_COLUMNS[table.name]
        count = 0
        rows = connection.execute(select(table.c.id, *(table.c[name] for name in names)).order_by(table.c.id))
        for row in rows.mappings().all():
            values = {
                name: change(row[name], f"{table.name}.{name}") for name in names if row[name] is not None
            }
            if values:
                connection.execute(update(table).where(table.c.id == row["id"]).values(values))
                count += len(values)
        rewritten[table.name] = count
    return rewritten


def encrypt_secrets(connection: Connection, cipher: MultiFernet) -> dict[str, int]:
    """Encrypt every secret stored in plain text (migration 0010); return how many, by table."""
    return rewrite_secrets(connection, lambda value, column: encrypt(cipher, value))


def decrypt_secrets(connection: Connection, cipher: MultiFernet) -> dict[str, int]:
    """Store every secret in plain text again (migration 0010 downgraded); return how many, by table."""
    return rewrite_secrets(connection, lambda value, column: decrypt(cipher, value, column))


def rotate_secrets(connection: Connection, cipher: MultiFernet) -> dict[str, int]:
    """Re-encrypt every secret with the cipher's first key (``twoway rotate-key``); return how many, by
    table. `UndecryptableSecret` when none of its keys opens one."""
    return rewrite_secrets(connection, lambda value, column: rotate(cipher, value, column))


def count_installation_rows(s: Session, team_id: str) -> dict[str, int]:
    """Return the number of the team's rows in the installation tables, of any app, keyed by table name."""
    return {
        table.name: s.scalar(select(func.count()).select_from(table).where(table.c.team_id == team_id)) or 0
        for table in _installation_tables(s)
    }


def delete_installation_rows(s: Session, team_id: str) -> None:
    """Delete the team's rows in the installation tables, of any app. OAuth states belong to no team."""
    for table in _installation_tables(s):
        s.execute(delete(table).where(table.c.team_id == team_id))
