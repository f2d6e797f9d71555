"""The encryption key from the command line: `twoway rotate-key` re-encrypts every stored token with the
first key of TWOWAY_ENCRYPTION_KEY, and `twoway migrate` refuses to leave tokens in plain text.

The key's procedure is Airflow's for its Fernet key (`airflow rotate-fernet-key`, "Rotating encryption
keys" in Airflow's security docs): put the new key first and keep the old one after a comma, rotate,
then drop the old key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from alembic import command
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine

from storage.db import make_engine
from storage.encryption import EncryptionKeyError
from storage.installations import SECRET_COLUMNS, EncryptedInstallationStore
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.storage.test_installations import BOT_TOKEN, SECRETS, installation, raw_rows
from tests.support.keys import KEY, NEW_KEY, STRANGER_KEY
from twoway.cli import main

EVERY_SECRET = len(SECRETS) + 2  # each installation row's five, and its bot row's two


def twoway(*args: str) -> int:
    """`twoway …` in this process, leaving the log handlers as they were (`main()` replaces them)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return main(list(args))
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def installed(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A migrated ledger holding one installation, encrypted with KEY."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TWOWAY_ENCRYPTION_KEY", KEY)
    engine = make_engine(db_url)
    upgrade(engine)
    store = EncryptedInstallationStore("test-client-id", engine, MultiFernet([Fernet(KEY)]))
    store.create_tables()
    store.save(installation())
    yield engine
    engine.dispose()


def stored_values(db_url: str) -> list[str]:
    return [v for rows in raw_rows(db_url).values() for row in rows for v in row.values() if v is not None]


def test_rotate_key_re_encrypts_every_token_with_the_new_key(
    installed: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TWOWAY_ENCRYPTION_KEY", f"{NEW_KEY},{KEY}")
    assert twoway("rotate-key") == 0
    out, err = capsys.readouterr()
    assert out == (
        f"re-encrypted {EVERY_SECRET} secrets (slack_installations 5, slack_bots 2) with the first key of "
        "TWOWAY_ENCRYPTION_KEY; once every replica runs with it, the other keys can be removed\n"
    )

    values = stored_values(db_url)
    assert len(values) == EVERY_SECRET
    assert sorted(Fernet(NEW_KEY).decrypt(v.encode()).decode() for v in values) == sorted(
        [*SECRETS.values(), SECRETS["bot_token"], SECRETS["bot_refresh_token"]]
    )
    for value in values:
        with pytest.raises(InvalidToken):
            Fernet(KEY).decrypt(value.encode())
    # The app, given the new key alone, reads them.
    store = EncryptedInstallationStore("test-client-id", installed, MultiFernet([Fernet(NEW_KEY)]))
    bot = store.find_bot(enterprise_id=None, team_id="T0TWOWAY1")
    assert bot is not None
    assert bot.bot_token == BOT_TOKEN
    for secret in (*SECRETS.values(), KEY, NEW_KEY):
        assert secret not in out + err


def test_rotate_key_without_a_key_says_what_to_set(
    installed: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = stored_values(db_url)
    monkeypatch.delenv("TWOWAY_ENCRYPTION_KEY")
    assert twoway("rotate-key") == 2
    assert capsys.readouterr().err == (
        "twoway: TWOWAY_ENCRYPTION_KEY is not set: to rotate, set it to the new key, a comma, then the "
        "old one (make a key with "
        "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')\n"
    )
    assert stored_values(db_url) == before


def test_rotate_key_without_the_old_key_changes_nothing(
    installed: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    before = stored_values(db_url)
    monkeypatch.setenv("TWOWAY_ENCRYPTION_KEY", f"{NEW_KEY},{STRANGER_KEY}")
    assert twoway("rotate-key") == 1
    out, err = capsys.readouterr()
    assert err == (
        "twoway: slack_installations.bot_token could not be decrypted with TWOWAY_ENCRYPTION_KEY: it was "
        "encrypted with another key; set that key (first, or after the new one while rotating); "
        "nothing was rotated\n"
    )
    assert stored_values(db_url) == before
    for secret in (*SECRETS.values(), KEY, NEW_KEY, STRANGER_KEY, *before):
        assert secret not in out + err


def test_migrate_without_a_key_refuses_plain_text_tokens_in_one_line(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.delenv("TWOWAY_ENCRYPTION_KEY", raising=False)
    engine = make_engine(db_url)
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0009")
        plain = SQLAlchemyInstallationStore("test-client-id", engine)
        plain.create_tables()
        plain.save(installation())

        assert twoway("migrate") == 2
        out, err = capsys.readouterr()
        assert err.startswith("twoway: TWOWAY_ENCRYPTION_KEY is not set, and the database holds Slack tokens")
        assert err.count("\n") == 1
        for secret in SECRETS.values():
            assert secret not in out + err
        assert current_revision(engine) == "0009"

        monkeypatch.setenv("TWOWAY_ENCRYPTION_KEY", KEY)
        assert twoway("migrate") == 0
        applied = capsys.readouterr().out
        assert applied.startswith("applied 0010"), applied
        assert applied.endswith(f"the ledger is at {head_revision()}\n"), applied
        assert BOT_TOKEN not in stored_values(db_url)
    finally:
        engine.dispose()


def test_the_secret_columns_are_every_token_column_of_slack_sdks_store() -> None:
    # A slack_sdk upgrade that adds a token column must not add it in plain text unnoticed.
    from sqlalchemy import MetaData

    for table in (
        SQLAlchemyInstallationStore.build_installations_table(MetaData(), "slack_installations"),
        SQLAlchemyInstallationStore.build_bots_table(MetaData(), "slack_bots"),
    ):
        tokens = {
            c.name
            for c in table.columns
            if "token" in c.name and not c.name.endswith(("_expires_at", "_type"))
        }
        assert tokens <= set(SECRET_COLUMNS[table.name]), table.name
    assert "incoming_webhook_url" in SECRET_COLUMNS["slack_installations"]


def test_distribution_mode_refuses_to_start_with_a_key_that_does_not_open_the_stored_tokens(
    installed: Engine, db_url: str
) -> None:
    from bot.config import load_config
    from twoway.runtime import prepare

    config = load_config(
        {
            "SLACK_CLIENT_ID": "test-client-id",
            "SLACK_CLIENT_SECRET": "client-s3cr3t",
            "SLACK_SIGNING_SECRET": "s3cr3t-signing",
            "DATABASE_URL": db_url,
            "TWOWAY_ENCRYPTION_KEY": STRANGER_KEY,
        }
    )
    with pytest.raises(EncryptionKeyError) as raised:
        prepare(config, host="127.0.0.1", schedule=False)
    assert str(raised.value) == (
        "TWOWAY_ENCRYPTION_KEY does not decrypt the Slack tokens this database holds: set the key they "
        "were encrypted with (while rotating, the new key, a comma, then the old one)"
    )
