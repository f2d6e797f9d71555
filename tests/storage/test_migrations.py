from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet, MultiFernet
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine, inspect, text

from bot.installs import Installations
from storage.db import make_engine
from storage.encryption import EncryptionKeyError
from storage.installations import EncryptedInstallationStore
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.models import Base
from tests.storage.test_installations import (
    BOT_REFRESH,
    BOT_TOKEN,
    SECRETS,
    installation,
    raw_rows,
    sqlite_files,
)
from tests.support.keys import KEY

TABLES = {
    "channels",
    "posts",
    "post_shares",
    "snapshots",
    "comments",
    "digest_runs",
    "processed_events",
    "nudges",
    "seen_requests",
    "slack_turns",
    "channel_homes",
    "kept_messages",
    "departed_workspaces",
    "channel_sources",
    "posted_messages",
    "posted_message_comments",
    "people",
    "weekly_dms",
    "watches",
}
# Every revision shipped, oldest first.
REVISIONS = [
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
    "0015",
]


def test_models_define_the_expected_tables_each_with_a_team() -> None:
    assert set(Base.metadata.tables) == TABLES
    for table in Base.metadata.tables.values():
        assert not table.c.team_id.nullable, table.name


def test_upgrade_creates_every_table_on_an_empty_database(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        assert upgrade(engine) == REVISIONS
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_upgrade_twice_applies_nothing_the_second_time(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert upgrade(engine) == []
    assert current_revision(engine) == head_revision()


def test_head_revision_is_the_newest_one() -> None:
    assert head_revision() == REVISIONS[-1]


def _ours(name: str | None, type_: str, parent_names: Any) -> bool:
    # slack_sdk's installation and OAuth state tables share the database in distribution mode, defined
    # by their own metadata; the migrations neither create nor drop them.
    return type_ != "table" or name in Base.metadata.tables


def test_models_and_migrations_agree(engine: Engine) -> None:
    Installations(engine, "test-client-id", MultiFernet([Fernet(KEY)])).create_tables()
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True, "compare_server_default": True, "include_name": _ours},
        )
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_then_upgrade_again(engine: Engine) -> None:
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert current_revision(engine) is None
    assert upgrade(engine) == REVISIONS


def test_0002_keeps_every_row_and_gives_each_post_the_share_that_brought_it(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0001")
            connection.execute(
                text(
                    "INSERT INTO channels (team_id, channel_id, created_at, updated_at) "
                    "VALUES ('T1', 'C1', :now, :now)"
                ),
                {"now": datetime(2026, 1, 1)},
            )
            connection.execute(
                text(
                    "INSERT INTO posts (team_id, channel_id, canonical_url, url, platform, owner_user_id, "
                    "message_ts, shared_at) VALUES ('T1', 'C1', 'https://x.com/a/status/1', "
                    "'https://x.com/a/status/1', 'x', 'U1', '1.000100', :now)"
                ),
                {"now": datetime(2026, 1, 1)},
            )
            # Rebuilding posts on SQLite must not cascade to its children.
            connection.execute(
                text(
                    "INSERT INTO snapshots (team_id, post_id, comments_received, replies_sent, shares, "
                    "likes, recorded_at, source) VALUES ('T1', 1, 4, 1, 0, 9, :now, 'thread')"
                ),
                {"now": datetime(2026, 1, 2)},
            )
            connection.execute(
                text(
                    "INSERT INTO comments (team_id, post_id, channel_id, text, state, flagged_by, "
                    "flagged_at) VALUES ('T1', 1, 'C1', 'when is it out?', 'open', 'U2', :now)"
                ),
                {"now": datetime(2026, 1, 2)},
            )
        assert upgrade(engine) == REVISIONS[1:]
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM snapshots")).scalar() == 1
            assert connection.execute(text("SELECT count(*) FROM comments")).scalar() == 1
            shares = connection.execute(
                text("SELECT team_id, channel_id, message_ts, user_id FROM post_shares")
            ).all()
        assert [tuple(row) for row in shares] == [("T1", "C1", "1.000100", "U1")]
    finally:
        engine.dispose()


@pytest.fixture
def installed_before_0010(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A ledger at 0009 where distribution mode ran: slack_sdk's own store saved one installation,
    its tokens in plain text, as twoway did before 0010."""
    monkeypatch.delenv("TWOWAY_ENCRYPTION_KEY", raising=False)
    engine = make_engine(db_url)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0009")
    plain = SQLAlchemyInstallationStore("test-client-id", engine)
    plain.create_tables()
    plain.save(installation())
    assert raw_rows(db_url)["slack_bots"] == [{"bot_token": BOT_TOKEN, "bot_refresh_token": BOT_REFRESH}]
    yield engine
    engine.dispose()


def test_0010_encrypts_the_tokens_stored_before_it(
    installed_before_0010: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWOWAY_ENCRYPTION_KEY", KEY)
    assert upgrade(installed_before_0010) == REVISIONS[REVISIONS.index("0010") :]

    for table, rows in raw_rows(db_url).items():
        [row] = rows
        for column, stored in row.items():
            assert stored is not None
            assert SECRETS[column] not in stored, (table, column)
            assert Fernet(KEY).decrypt(stored.encode()).decode() == SECRETS[column], (table, column)
    # PostgreSQL enforces the store's VARCHAR(200): a rotating token's ciphertext needs more.
    store = EncryptedInstallationStore("test-client-id", installed_before_0010, MultiFernet([Fernet(KEY)]))
    found = store.find_installation(enterprise_id=None, team_id="T0TWOWAY1")
    assert found is not None
    assert {column: getattr(found, column) for column in SECRETS} == SECRETS
    store.save(installation())
    if db_url.startswith("sqlite"):
        # Overwritten in place, not left behind in a free page or the write-ahead log.
        files = sqlite_files(db_url)
        for secret in SECRETS.values():
            assert secret.encode() not in files


def test_0010_without_a_key_refuses_and_leaves_the_ledger_as_it_was(
    installed_before_0010: Engine, db_url: str
) -> None:
    with pytest.raises(EncryptionKeyError) as raised:
        upgrade(installed_before_0010)
    assert str(raised.value) == (
        "TWOWAY_ENCRYPTION_KEY is not set, and the database holds Slack tokens in plain text "
        "(slack_installations 1 row, slack_bots 1 row): set it (make one with "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') "
        "and migrate again, and they will be encrypted with it"
    )
    assert current_revision(installed_before_0010) == "0009"
    assert raw_rows(db_url)["slack_bots"] == [{"bot_token": BOT_TOKEN, "bot_refresh_token": BOT_REFRESH}]


def test_0010_needs_no_key_where_no_token_is_stored(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWOWAY_ENCRYPTION_KEY", raising=False)
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0009")
        SQLAlchemyInstallationStore("test-client-id", engine).create_tables()
        assert upgrade(engine) == REVISIONS[REVISIONS.index("0010") :]
    finally:
        engine.dispose()


def test_0010_downgraded_decrypts_the_tokens_again(
    installed_before_0010: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWOWAY_ENCRYPTION_KEY", KEY)
    upgrade(installed_before_0010)
    with installed_before_0010.begin() as connection:
        command.downgrade(alembic_config(connection), "0009")
    assert raw_rows(db_url)["slack_bots"] == [{"bot_token": BOT_TOKEN, "bot_refresh_token": BOT_REFRESH}]
