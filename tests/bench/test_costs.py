"""What the ingestion benchmark reads about a run's cost: CPU from /proc, and pg_stat_statements on the
embedded server it can start (no timing: figures are checked for what they count, not how much)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import NullPool, create_engine, text

from bench.cpu import CpuMeter, cpu_seconds, descendants
from bench.harness import emulator
from bench.ingestion import ingest
from bench.pg import PostgresCosts, Server, embedded_server, fresh_database, shorten, statement_stats_missing

# A child that spends half a second of CPU, then idles long enough to be read once more, and exits.
BUSY = "import time\nwhile time.process_time() < 0.5:\n    pass\ntime.sleep(1)\n"


def test_a_process_that_exits_during_the_window_still_counts() -> None:
    children: list[int] = []
    meter = CpuMeter(lambda: {"children": children}, interval=0.1)
    meter.start()
    child = subprocess.Popen([sys.executable, "-c", BUSY])
    children.append(child.pid)
    assert child.pid in descendants(os.getpid())
    child.wait(timeout=60)

    used = meter.stop()

    assert used["children"] >= 0.45
    assert cpu_seconds(child.pid) is None


def test_a_group_none_of_whose_processes_can_be_read_is_left_out() -> None:
    meter = CpuMeter(lambda: {"elsewhere": [2**22 + 1]}, interval=0.1)
    meter.start()

    assert meter.stop() == {}


@pytest.fixture(scope="module")
def stats_server() -> Iterator[Server]:
    with embedded_server() as started:
        yield started


@pytest.mark.postgres
def test_the_embedded_server_counts_a_databases_statements_and_its_backends_cpu(stats_server: Server) -> None:
    with fresh_database(stats_server.url, "twoway_bench_test") as url:
        assert statement_stats_missing(url) is None
        costs = PostgresCosts(stats_server, url, statements=True)
        app = create_engine(url, poolclass=NullPool)
        try:
            with app.connect() as conn:
                meter = CpuMeter(costs.pids, interval=0.1)
                costs.reset()
                meter.start()
                for _ in range(7):
                    conn.execute(text("SELECT count(*) FROM generate_series(1, 1000000)"))
                used = meter.stop()
            statements = costs.read()
        finally:
            app.dispose()
            costs.close()

    calls = {s.query: s.calls for s in statements}
    assert calls["SELECT count(*) FROM generate_series($1, $2)"] == 7
    # The app's connection's own transaction; none of the benchmark's statements reading the figures.
    assert set(calls) - {"SELECT count(*) FROM generate_series($1, $2)"} <= {
        "BEGIN",
        "ROLLBACK",
        "DEALLOCATE ALL",
    }
    assert used["pg_backends"] > 0
    assert used["pg_server"] >= used["pg_backends"]


@pytest.mark.postgres
def test_a_server_without_pg_stat_statements_preloaded_has_no_statement_figures(
    postgresql_server: str,
) -> None:
    with fresh_database(postgresql_server, "twoway_bench_test") as url:
        assert (
            statement_stats_missing(url)
            == "pg_stat_statements is not in the server's shared_preload_libraries"
        )


@pytest.mark.e2e
@pytest.mark.postgres
def test_an_ingestion_run_reports_what_each_event_cost(stats_server: Server, tmp_path: Path) -> None:
    with emulator(tmp_path) as slack, fresh_database(stats_server.url, "twoway_bench_test") as url:
        run = ingest(slack, url, stats_server, slack.message_events(50), count=1, concurrency=5)

    assert run["recorded"] == 50
    # A claim, its signature and the post's rows at least, each a statement of its own.
    assert run["statements_per_event"] >= 3
    assert run["top_by_calls"][0]["calls_per_event"] >= 1
    assert run["app_cpu_ms_per_event"] > 0
    assert run["pg_backends_cpu_ms_per_event"] > 0
    assert run["app_and_backends_cpu_ms_per_event"] == pytest.approx(
        run["app_cpu_ms_per_event"] + run["pg_backends_cpu_ms_per_event"], abs=0.002
    )
    assert run["pg_server_cpu_ms_per_event"] >= run["pg_backends_cpu_ms_per_event"]


def test_a_statement_is_shown_by_its_table_and_conditions_not_its_column_lists() -> None:
    select = (
        "SELECT posts.id, posts.team_id, posts.channel_id, posts.canonical_url, posts.url\n"
        "FROM posts WHERE posts.team_id = $1::VARCHAR AND posts.canonical_url = $2::VARCHAR"
    )
    insert = (
        "INSERT INTO kept_messages (team_id, channel_id, ts, received_at) VALUES ($1::VARCHAR, $2::VARCHAR,"
        " $3::VARCHAR, $4::TIMESTAMP WITH TIME ZONE) ON CONFLICT DO NOTHING"
    )

    assert shorten(select) == (
        "SELECT … FROM posts WHERE posts.team_id = $1::VARCHAR AND posts.canonical_url = $2::VARCHAR"
    )
    assert shorten(insert) == "INSERT INTO kept_messages (…) VALUES (…) ON CONFLICT DO NOTHING"
    assert (
        shorten("SELECT count(*) FROM generate_series($1, $2)")
        == "SELECT count(*) FROM generate_series($1, $2)"
    )
    assert shorten("SELECT " + "x, " * 100 + "y FROM t", width=20) == "SELECT … FROM t"
    assert len(shorten("SELECT 1 WHERE " + "x AND " * 100 + "y", width=20)) == 20
