"""Apply the Alembic migrations shipped in ``storage/migrations``, with no alembic.ini."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Replicas starting together queue on this advisory lock, keyed by schema as well,
# instead of racing to create the same tables. Any fixed int4 will do.
_PG_MIGRATION_LOCK = 0x7477_6F77  # "twow"


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic config for twoway's migrations, bound to ``connection`` if given."""
    config = Config()
    # Config values go through ConfigParser interpolation, where % is special.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """Return the newest revision shipped with this version of twoway."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision, or None when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> list[str]:
    """Migrate the database to head; return the revisions applied, oldest first (empty when current)."""
    applied: list[str] = []

    def record(*, step: Any, **_: Any) -> None:
        if step.is_upgrade:
            applied.append(step.up_revision_id)

    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # A batch migration rebuilds a table by dropping it; with foreign keys on,
            # that drop would cascade to every child row. SQLite ignores this pragma
            # inside a transaction, so it is set on the driver connection first.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key, hashtext(current_schema()))"),
                        {"key": _PG_MIGRATION_LOCK},
                    )
                config = alembic_config(connection)
                config.attributes["on_version_apply"] = record
                command.upgrade(config, "head")
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
        if sqlite and applied:
            # What a migration rewrote (0010's tokens, once in plain text) leaves the write-ahead log
            # for the database file now, rather than whenever SQLite next checkpoints.
            connection.connection.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    return applied
