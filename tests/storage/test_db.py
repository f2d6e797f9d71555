from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool, StaticPool

from storage.db import (
    POSTGRES_POOL_SIZE,
    SQLITE_BUSY_TIMEOUT_MS,
    SQLITE_READ_CACHE_KIB,
    SQLITE_READ_POOL_SIZE,
    default_database_url,
    make_engine,
    make_read_engine,
    make_session_factory,
)
from storage.migrate import upgrade
from storage.models import ProcessedEvent
from storage.posts import posts_of_message

NOW = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)


def test_default_database_url_is_twoway_db_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    url = default_database_url()
    assert url == f"sqlite:///{tmp_path.resolve() / 'twoway.db'}"
    assert Path(url.removeprefix("sqlite:///")).is_absolute()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_one_database_shared_by_every_session() -> None:
    engine = make_engine("sqlite://")
    try:
        assert isinstance(engine.pool, StaticPool)
        upgrade(engine)
        sessions = make_session_factory(engine)
        with sessions.begin() as s:
            s.add(ProcessedEvent(team_id="T1", event_id="Ev1", received_at=NOW))
        with sessions() as s:
            assert s.scalars(select(ProcessedEvent.event_id)).all() == ["Ev1"]
    finally:
        engine.dispose()


def test_postgresql_engine_pings_pooled_connections(postgresql_url: str) -> None:
    engine = make_engine(postgresql_url)
    try:
        assert engine.pool._pre_ping
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT 1")) == 1
    finally:
        engine.dispose()


def test_postgresql_engine_keeps_a_connection_for_each_busy_thread(postgresql_url: str) -> None:
    """Every thread of a replica that may hold a connection finds one open: none waits for a new backend."""
    engine = make_engine(postgresql_url)
    try:
        held = [engine.connect() for _ in range(POSTGRES_POOL_SIZE)]
        for connection in held:
            connection.close()
        pool = engine.pool
        assert isinstance(pool, QueuePool)
        # All of them went back to the pool, still open, rather than being closed as overflow.
        assert (pool.size(), pool.checkedin(), pool.overflow()) == (POSTGRES_POOL_SIZE, POSTGRES_POOL_SIZE, 0)
    finally:
        engine.dispose()


def test_postgresql_plans_each_query_for_the_tables_as_they_are(postgresql_url: str) -> None:
    """A prepared query is never run on a generic plan made while the ledger was still empty."""
    engine = make_engine(postgresql_url)
    try:
        upgrade(engine)
        sessions = make_session_factory(engine)
        with sessions() as s:
            # psycopg prepares a query from its fifth run; PostgreSQL may go generic from its sixth.
            for _ in range(12):
                assert posts_of_message(s, "T1", "C1", "1.000001") == []
            plans = s.connection().exec_driver_sql(
                "SELECT sum(generic_plans), sum(custom_plans) FROM pg_prepared_statements"
            )
            generic, custom = plans.one()
        assert custom >= 6
        assert generic == 0
    finally:
        engine.dispose()


def test_a_sqlite_read_engine_has_connections_of_its_own_that_refuse_to_write(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    reads = make_read_engine(engine)
    try:
        assert reads is not engine
        pool = reads.pool
        assert isinstance(pool, QueuePool)
        assert (pool.size(), pool._max_overflow) == (SQLITE_READ_POOL_SIZE, 0)
        with make_session_factory(engine).begin() as s:
            s.add(ProcessedEvent(team_id="T1", event_id="Ev1", received_at=NOW))
        with make_session_factory(reads)() as s:
            assert s.scalars(select(ProcessedEvent.event_id)).all() == ["Ev1"]
            assert s.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert s.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
            assert s.connection().exec_driver_sql("PRAGMA cache_size").scalar() == -SQLITE_READ_CACHE_KIB
            with pytest.raises(OperationalError, match="readonly"):
                s.execute(delete(ProcessedEvent))
        with make_session_factory(engine)() as s:
            assert s.scalars(select(ProcessedEvent.event_id)).all() == ["Ev1"]
    finally:
        reads.dispose()
        engine.dispose()


def test_the_read_engine_is_the_engine_itself_on_postgresql_and_in_memory_sqlite(postgresql_url: str) -> None:
    """PostgreSQL's readers never wait for its writers, and in-memory SQLite has one connection only."""
    for url in (postgresql_url, "sqlite://"):
        engine = make_engine(url)
        try:
            assert make_read_engine(engine) is engine
        finally:
            engine.dispose()


def test_rolled_back_savepoint_undoes_only_its_own_writes(engine: Engine) -> None:
    # pysqlite's implicit transactions would let a SAVEPOINT escape the outer transaction.
    sessions = make_session_factory(engine)
    with sessions.begin() as s:
        s.add(ProcessedEvent(team_id="T1", event_id="kept", received_at=NOW))
        nested = s.begin_nested()
        s.add(ProcessedEvent(team_id="T1", event_id="undone", received_at=NOW))
        nested.rollback()
    with sessions() as s:
        assert s.scalars(select(ProcessedEvent.event_id)).all() == ["kept"]


def test_objects_stay_readable_after_commit(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as s:
        event = ProcessedEvent(team_id="T1", event_id="Ev1", received_at=NOW)
        s.add(event)
    assert event.received_at == NOW


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_sqlite_database_and_its_wal_and_shm_files_are_readable_by_their_owner_alone(
    tmp_path: Path,
) -> None:
    # The ledger holds comment text and, in distribution mode, every workspace's bot token (encrypted);
    # a default umask of 022 would have made all three files readable by every user of the machine.
    path = tmp_path / "twoway.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM posts"))
            files = [path, path.with_name("twoway.db-wal"), path.with_name("twoway.db-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        engine.dispose()


def test_an_existing_world_readable_sqlite_database_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "twoway.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    path.chmod(0o644)
    for leftover in ("twoway.db-wal", "twoway.db-shm"):
        (tmp_path / leftover).touch(0o644)
        (tmp_path / leftover).chmod(0o644)

    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM posts"))
        assert _mode(path) == 0o600
        assert _mode(tmp_path / "twoway.db-wal") == 0o600
        assert _mode(tmp_path / "twoway.db-shm") == 0o600
    finally:
        engine.dispose()
