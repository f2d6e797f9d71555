from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import head_revision
from twoway.cli import main


def test_migrate_creates_the_schema_then_changes_nothing(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("applied 0001, 0002, ")
    assert out.endswith(f"{head_revision()}; the ledger is at {head_revision()}\n")

    engine = make_engine(db_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {
        "channels",
        "posts",
        "snapshots",
        "comments",
        "digest_runs",
        "processed_events",
        "nudges",
    } <= tables

    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == f"the ledger is up to date at {head_revision()}\n"


def test_run_without_a_token_stops_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: pytest.TempPathFactory
) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twoway: SLACK_BOT_TOKEN is not set")
    assert err.count("\n") == 1


def test_migrate_refuses_a_malformed_database_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url")
    assert main(["migrate"]) == 2
    assert (
        capsys.readouterr().err == "twoway: DATABASE_URL is not a database URL (e.g. sqlite:///twoway.db)\n"
    )


def test_digest_previews_then_posts_once(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from emulator import Emulator, EmulatorSettings
    from storage.channels import ensure_channel
    from storage.db import make_session_factory
    from storage.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    with make_session_factory(engine).begin() as s:
        ensure_channel(s, "T0TWOWAY1", "C0SOCIAL01", now=datetime.now(UTC))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", db_url)

    assert main(["digest", "C0SOCIAL01", "--preview"]) == 0
    assert "A quiet week in" in capsys.readouterr().out
    assert main(["digest", "C0NOWHERE1", "--preview"]) == 2
    assert capsys.readouterr().err == "twoway: channel C0NOWHERE1 is in no workspace\n"

    with Emulator(EmulatorSettings(host="127.0.0.1", port=0)) as emulator:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-cli")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "cli-signing-secret")
        monkeypatch.setenv("SLACK_API_URL", emulator.api_url)
        assert main(["digest", "C0SOCIAL01"]) == 0
        assert capsys.readouterr().out.endswith(": posted\n")
        assert main(["digest", "C0SOCIAL01"]) == 0
        assert capsys.readouterr().out.endswith(": already posted\n")
        assert len(emulator.calls("chat.postMessage")) == 1


def test_run_stops_when_the_ledger_cannot_be_migrated(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-cli")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "cli-secret")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    # A directory where the SQLite file should be: the migration process can't open it.
    (tmp_path / "ledger.db").mkdir()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    assert main(["run"]) == 1
    assert "could not start: the ledger's migrations failed" in capsys.readouterr().err
