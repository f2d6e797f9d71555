"""The digest-build benchmark at a tiny size on SQLite: it seeds, times, explains and reports.

Nothing here asserts a timing; the figures' shape, the seeded rows and the plans are what count.
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench import digest_build
from bench.digest_build import OTHER_TEAM, TEAM, Shape, benchmark, sqlite_ledger
from storage.db import make_session_factory
from storage.migrate import head_revision
from storage.models import Comment, Post

TINY = (Shape(300, channels=20, weeks=20), Shape(1_200, channels=20, weeks=20))


def test_tiny_ledgers_are_seeded_for_two_teams_and_cached(tmp_path: Path) -> None:
    with ExitStack() as stack:
        first = sqlite_ledger(stack, TINY[0], tmp_path)
        again = sqlite_ledger(stack, TINY[0], tmp_path)
        with make_session_factory(first.engine)() as s:
            posts = {
                team: n for team, n in s.execute(select(Post.team_id, func.count()).group_by(Post.team_id))
            }
            open_comments = s.scalar(
                select(func.count()).where(
                    Comment.team_id == TEAM,
                    Comment.channel_id == digest_build.SUBJECT,
                    Comment.state == "open",
                )
            )
    assert (first.cached, again.cached) == (False, True)
    assert again.counts == first.counts
    assert posts == {TEAM: 300, OTHER_TEAM: 30}
    assert first.counts["posts"] == 300
    assert first.counts["snapshots"] > first.counts["posts"]
    assert first.counts["comments"] > 0
    assert open_comments


def test_too_small_a_ledger_is_refused(tmp_path: Path) -> None:
    with ExitStack() as stack, pytest.raises(ValueError, match="a ledger needs over"):
        sqlite_ledger(stack, Shape(10, channels=5, weeks=20), tmp_path)


def test_the_figures_cover_both_ledgers_and_every_query_the_digest_issues(tmp_path: Path) -> None:
    with ExitStack() as stack:
        ledgers = [sqlite_ledger(stack, shape, tmp_path) for shape in TINY]
        figures = benchmark(ledgers, reps=2)

    keys = [shape.key for shape in TINY]
    assert list(figures["ledgers"]) == keys
    for key, shape in zip(keys, TINY, strict=True):
        ledger = figures["ledgers"][key]
        assert ledger["posts"] == shape.posts
        assert {"p50_ms", "p99_ms", "max_ms", "mean_ms", "seed_s", "rows", "period"} <= set(ledger)
        assert figures["sql_ms"][key] > 0
    assert figures["ratio_p50"] > 0
    assert figures["ratio_p99"] > 0

    origins = [q["origin"] for q in figures["queries"]]
    for expected in (
        "posts.posts_shared_between",
        "snapshots.snapshots_of",
        "posts.recent_posts_of",
        "comments.comments_for_report",
        "nudge_claims.failed_nudges",
    ):
        assert expected in origins
    for query in figures["queries"]:
        assert query["team_filtered"], query["sql"]
        assert set(query["plan"]) == set(keys)
        assert all(query["plan"][key] for key in keys)
        # Without statistics SQLite plans by the indexes alone, as on a big ledger: none reads a
        # whole ledger table, or all of one team's rows in one.
        assert query["full_scans"] == {key: [] for key in keys}, query["origin"]
    json.dumps(figures)


def test_the_command_line_prints_a_table_and_one_json_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(digest_build, "QUICK", TINY)
    monkeypatch.delenv("TWOWAY_BENCH_RESULTS", raising=False)
    argv = ["digest_build", "--quick", "--postgres", "", "--reps", "2", "--cache-dir", str(tmp_path)]
    monkeypatch.setattr(sys, "argv", argv)

    digest_build.main()

    out = capsys.readouterr().out
    assert "Digest build vs ledger size" in out
    assert "sqlite: big/small p50" in out
    line = json.loads(out.strip().splitlines()[-1])
    assert line["benchmark"] == "digest_build"
    assert line["quick"] is True
    assert line["head"] == head_revision()
    assert list(line["by_backend"]) == ["sqlite"]
