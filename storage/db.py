"""Engine and session factories, and the one statement whose SQL differs by dialect.

Nothing here is built at import time.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, bindparam, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from storage.models import Base

logger = logging.getLogger(__name__)

# How long a SQLite writer waits for another one before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 10_000
# Read-only SQLite connections a process keeps for the relevance view's reads (`make_read_engine`), and
# the page cache of each: its reads are index lookups of a few pages. With SQLite's default of 2 MB, 4
# connections grew the process by 9.0 MB over 40,000 lookups on 200,000 posts; with 256 KiB, by 2.0 MB.
SQLITE_READ_POOL_SIZE = 4
SQLITE_READ_CACHE_KIB = 256
# PostgreSQL connections a process keeps, and how many more it may open for a burst.
POSTGRES_POOL_SIZE = 16
POSTGRES_POOL_OVERFLOW = 8


def default_database_url() -> str:
    """Return the SQLite URL of ``twoway.db`` in the current directory, as an absolute path."""
    return f"sqlite:///{(Path.cwd() / 'twoway.db').resolve()}"


def make_engine(url: str) -> Engine:
    """Return an engine for ``url`` (SQLite or PostgreSQL), configured for concurrent use.

    SQLite file URLs are the supported SQLite setup. An in-memory URL
    (``sqlite://``) gets one shared connection so every session sees the same
    database; it suits single-threaded tools and tests only.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # A connection for every thread that may hold one at once (the server's, the inbox's, the
        # listeners' and the scheduler's), kept open: one opened on demand past the pool costs a
        # new PostgreSQL backend, tens of milliseconds, and is closed again when handed back.
        engine = create_engine(
            parsed, pool_pre_ping=True, pool_size=POSTGRES_POOL_SIZE, max_overflow=POSTGRES_POOL_OVERFLOW
        )
        event.listen(engine, "connect", _configure_postgresql_connection)
        return engine

    kwargs: dict[str, Any]
    if _is_sqlite_memory(parsed.database, parsed.query):
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        if parsed.database and not parsed.query.get("uri"):
            _keep_private(Path(parsed.database))
        # Every transaction takes SQLite's one write lock (see _begin_immediate), so a process gains
        # nothing from a second connection: its threads would wait in SQLite's busy handler, which
        # polls with sleeps of up to 100 ms. One pooled connection hands over the moment it is free.
        # The ack path's reads, which must not wait for it, have connections of their own
        # (make_read_engine).
        kwargs = {"pool_size": 1, "max_overflow": 0, "pool_timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    engine = create_engine(parsed, **kwargs)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def make_read_engine(engine: Engine) -> Engine:
    """Return an engine for reads that must never wait behind a writer: the relevance view's, on the
    ack path (`bot.relevance.LedgerView`). Dispose of it with ``engine``; it may be ``engine`` itself.

    On a SQLite file, ``engine`` has one connection, and every transaction on it takes the write lock
    (`_begin_immediate`): a read there waits for whichever listener or job is writing, and holds the
    lock itself while it reads. This one has connections of its own, which refuse to write
    (``PRAGMA query_only``) and begin plain deferred transactions: under WAL such a transaction reads
    the database as last committed when its first SELECT ran, while one writer goes on, and it ends
    when its session closes, so the next one sees every commit made since. Reads take well under a
    millisecond, so a few connections serve the server's threads (8 by default) with little waiting;
    one per thread would add as many page caches and no throughput on a machine of a few cores.

    On PostgreSQL, reads never wait behind writers (MVCC) and the pool is sized for every thread
    already; in-memory SQLite is one connection, so there is no second to read from. Both get
    ``engine`` back.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or _is_sqlite_memory(url.database, url.query):
        return engine
    reads = create_engine(
        url,
        pool_size=SQLITE_READ_POOL_SIZE,
        max_overflow=0,
        pool_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000,
    )
    # The writers' settings first: WAL is already the file's mode (it is kept in the database), and
    # a reader may still meet a lock, briefly, while a crashed writer's WAL is recovered.
    event.listen(reads, "connect", _configure_sqlite_connection)
    event.listen(reads, "connect", _refuse_writes)
    event.listen(reads, "begin", _begin_deferred)
    return reads


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory; use one ``with sessions.begin() as s:`` per event or job."""
    # Objects stay readable after commit, so handlers can render what they just wrote.
    return sessionmaker(engine, expire_on_commit=False)


def insert_ignoring_conflicts(s: Session, model: type[Base], values: dict[str, Any]) -> bool:
    """Insert one row unless it collides with an existing one; return True if it was inserted.

    ON CONFLICT DO NOTHING lets concurrent callers race without an IntegrityError
    poisoning either transaction.
    """
    statement = _insert_ignoring(model, s.get_bind().dialect.name, tuple(values))
    # RETURNING, unlike rowcount, reports the insert the same way on every driver.
    return s.execute(statement, values).first() is not None


def insert_many_ignoring_conflicts(
    conn: Connection, model: type[Base], rows: Sequence[dict[str, Any]], *, returning: tuple[str, ...]
) -> set[tuple[Any, ...]]:
    """Insert ``rows`` in one statement, skipping those that collide with a row already there (or with
    an earlier one of ``rows``); return the ``returning`` columns of the rows inserted.

    It runs on a Core connection, not in an ORM session: the ack path writes the claims of concurrent
    requests together this way (`twoway.acknowledge`). SQLAlchemy sends the rows as one INSERT with
    many VALUES ("insertmanyvalues"), so the rows cost one round trip and one statement.
    """
    if not rows:
        return set()
    statement = _insert_many_ignoring(model, conn.dialect.name, returning)
    return {tuple(row) for row in conn.execute(statement, list(rows))}


@functools.cache
def _insert_many_ignoring(model: type[Base], dialect: str, returning: tuple[str, ...]) -> Insert:
    table = model.__table__
    assert isinstance(table, Table)
    return (
        _dialect_insert(dialect)(table).on_conflict_do_nothing().returning(*(table.c[n] for n in returning))
    )


def _dialect_insert(dialect: str) -> Callable[[Table], postgresql.Insert | sqlite.Insert]:
    """The INSERT of ``dialect``, which knows ON CONFLICT."""
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"twoway storage does not support {dialect}")


@functools.cache
def _insert_ignoring(model: type[Base], dialect: str, columns: tuple[str, ...]) -> Insert:
    """The INSERT … ON CONFLICT DO NOTHING RETURNING of ``columns``, built once for each shape.

    Claims and signatures are inserted on the path to Slack's acknowledgement: a statement built
    anew each time, with its values inline, cost more to build and to key for the compiled cache
    than to run. This one takes its values as parameters, and its cache key is computed once.
    """
    table = model.__table__
    assert isinstance(table, Table)
    parameters = {name: bindparam(name, type_=table.c[name].type) for name in columns}
    return (
        _dialect_insert(dialect)(table)
        .values(parameters)
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)
    )


# The files of one SQLite database: SQLite creates the others with the database file's permissions
# (os_unix.c, findCreateFileMode and unixOpenSharedMemory), but may find them left from before.
_SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def _keep_private(path: Path) -> None:
    """Create the SQLite database at ``path`` readable and writable by its owner alone, and take group
    and others' access away from its files where they exist. The ledger holds comment text and, in
    distribution mode, every workspace's bot token (encrypted); the usual umask 022 made them 0644."""
    if not path.parent.is_dir():
        return  # SQLite's own "unable to open database file" says it better
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for suffix in _SQLITE_SUFFIXES:
        file = path.with_name(path.name + suffix)
        try:
            mode = file.stat().st_mode & 0o777
            if mode & 0o077:
                file.chmod(mode & 0o700)
        except FileNotFoundError:
            continue
        except PermissionError:
            logger.warning("%s is readable by others and not ours to change: chmod 600 it", file)


def _is_sqlite_memory(database: str | None, query: Any) -> bool:
    return database in (None, "", ":memory:") or query.get("mode") == "memory"


def _configure_sqlite_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # The driver's own implicit BEGIN skips SELECTs, DDL and SAVEPOINTs; _begin_immediate
    # takes over so transactions mean what they say.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers proceed while one writer commits.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # Durable enough under WAL (a power cut may lose the last commits, never corrupt).
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _configure_postgresql_connection(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # psycopg prepares a query it has run five times, and PostgreSQL may then settle on one generic
    # plan for it, costed on what the tables held back then. A pooled connection lives for days while
    # a new ledger grows from nothing: a plan made for empty tables (nested loops over sequential
    # scans) made one event's query take a second at two thousand posts. Every execution is planned
    # for its own values on the tables as they are now; the statements stay prepared.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


def _begin_immediate(connection: Connection) -> None:
    # A deferred transaction that reads and then writes fails at once with
    # SQLITE_BUSY when another writer got in between, whatever the busy timeout.
    # Taking the write lock up front makes concurrent transactions wait their turn.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _refuse_writes(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Any INSERT, UPDATE, DELETE or DDL on the connection then fails with SQLITE_READONLY. The cache is
    # small: the operating system's keeps the file's pages anyway, outside the process's memory.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_READ_CACHE_KIB}")
    finally:
        cursor.close()


def _begin_deferred(connection: Connection) -> None:
    # The driver's own BEGIN is off (_configure_sqlite_connection): without this, each SELECT of a
    # session would be a transaction of its own, and two of them could see two states of the ledger.
    connection.exec_driver_sql("BEGIN")
