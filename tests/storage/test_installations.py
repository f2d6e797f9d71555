"""slack_sdk's installation store, with every secret it keeps encrypted at rest."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, MultiFernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import IntegrityError

from storage.encryption import UndecryptableSecret
from storage.installations import SECRET_COLUMNS, EncryptedInstallationStore
from tests.support.keys import KEY, STRANGER_KEY

# Slack's rotating tokens are longer than plain ones ("xoxe.xoxb-1-…", "xoxe-1-…"); their ciphertexts
# outgrow the store's VARCHAR(200), which PostgreSQL enforces.
BOT_TOKEN = "xoxe.xoxb-1-" + "B" * 140
BOT_REFRESH = "xoxe-1-" + "R" * 150
USER_TOKEN = "xoxp-2000-" + "U" * 60
USER_REFRESH = "xoxe-1-" + "V" * 150
WEBHOOK = "https://hooks.slack.com/services/T0TWOWAY1/B0HOOK/" + "W" * 24
SECRETS = {
    "bot_token": BOT_TOKEN,
    "bot_refresh_token": BOT_REFRESH,
    "user_token": USER_TOKEN,
    "user_refresh_token": USER_REFRESH,
    # "As with tokens, we don't recommend embedding a webhook URL in your source code"
    # (docs.slack.dev, Java Slack SDK, "Incoming webhooks"): whoever holds it posts to the channel.
    "incoming_webhook_url": WEBHOOK,
}


def installation() -> Installation:
    return Installation(
        app_id="A0TWOWAY01",
        enterprise_id=None,
        team_id="T0TWOWAY1",
        bot_token=BOT_TOKEN,
        bot_id="B0TWOWAY1",
        bot_user_id="U0TWOWAYBOT",
        bot_scopes="chat:write",
        bot_refresh_token=BOT_REFRESH,
        bot_token_expires_in=43200,
        user_id="U0ADA00001",
        user_token=USER_TOKEN,
        user_scopes="search:read",
        user_refresh_token=USER_REFRESH,
        user_token_expires_in=43200,
        incoming_webhook_url=WEBHOOK,
        incoming_webhook_channel="#social",
        incoming_webhook_channel_id="C0SOCIAL01",
        incoming_webhook_configuration_url="https://slack.com/config",
        installed_at=datetime(2026, 12, 7, 9, 0, tzinfo=UTC).timestamp(),
    )


def store(engine: Engine, key: str = KEY) -> EncryptedInstallationStore:
    created = EncryptedInstallationStore("test-client-id", engine, MultiFernet([Fernet(key)]))
    created.create_tables()
    return created


def raw_rows(db_url: str) -> dict[str, list[dict[str, str | None]]]:
    """The secret columns of each table as the database holds them, read without the store's types."""
    raw = create_engine(db_url)
    try:
        with raw.connect() as connection:
            return {
                table: [
                    dict(row)
                    for row in connection.execute(
                        text(f"SELECT {', '.join(columns)} FROM {table}")  # noqa: S608 - our own constant names
                    ).mappings()
                ]
                for table, columns in SECRET_COLUMNS.items()
            }
    finally:
        raw.dispose()


def sqlite_files(db_url: str) -> bytes:
    """Every byte of a SQLite database's file and write-ahead log."""
    path = Path(db_url.removeprefix("sqlite:///"))
    return b"".join(f.read_bytes() for f in (path, path.with_name(path.name + "-wal")) if f.exists())


def test_every_secret_is_encrypted_at_rest_and_read_back_in_the_clear(engine: Engine, db_url: str) -> None:
    installations = store(engine)
    installations.save(installation())

    rows = raw_rows(db_url)
    assert [len(rows[table]) for table in SECRET_COLUMNS] == [1, 1]
    for table, columns in SECRET_COLUMNS.items():
        [row] = rows[table]
        for column in columns:
            stored = row[column]
            assert stored is not None
            assert SECRETS[column] not in stored, (table, column)
            assert Fernet(KEY).decrypt(stored.encode()).decode() == SECRETS[column], (table, column)

    found = installations.find_installation(enterprise_id=None, team_id="T0TWOWAY1")
    assert found is not None
    assert {column: getattr(found, column) for column in SECRETS} == SECRETS
    bot = installations.find_bot(enterprise_id=None, team_id="T0TWOWAY1")
    assert bot is not None
    assert (bot.bot_token, bot.bot_refresh_token) == (BOT_TOKEN, BOT_REFRESH)


def test_what_is_not_secret_stays_readable(engine: Engine, db_url: str) -> None:
    store(engine).save(installation())
    raw = create_engine(db_url)
    try:
        with raw.connect() as connection:
            row = connection.execute(text("SELECT team_id, bot_id, bot_scopes FROM slack_bots")).one()
    finally:
        raw.dispose()
    assert tuple(row) == ("T0TWOWAY1", "B0TWOWAY1", "chat:write")


def test_a_token_the_key_cannot_decrypt_fails_without_showing_it(engine: Engine) -> None:
    store(engine).save(installation())
    with pytest.raises(UndecryptableSecret) as raised:
        store(engine, STRANGER_KEY).find_bot(enterprise_id=None, team_id="T0TWOWAY1")
    message = str(raised.value)
    assert message == (
        "slack_bots.bot_token could not be decrypted with TWOWAY_ENCRYPTION_KEY: it was encrypted with "
        "another key; set that key (first, or after the new one while rotating)"
    )
    for secret in (BOT_TOKEN, KEY, STRANGER_KEY):
        assert secret not in message + repr(raised.value)


def test_a_failed_save_names_no_secret_in_its_error(engine: Engine) -> None:
    # SQLAlchemy's errors carry the statement's parameters, and Bolt lets a failed save reach the server's
    # log: they must be the ciphertexts. (An app_id is required: this one breaks the NOT NULL.)
    broken = installation()
    broken.app_id = None
    with pytest.raises(IntegrityError) as raised:
        store(engine).save(broken)
    shown = str(raised.value)
    assert "[parameters:" in shown
    for secret in SECRETS.values():
        assert secret not in shown
