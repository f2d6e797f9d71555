"""Slack tokens encrypted at rest: what slack_sdk's installation store kept in plain text, encrypted
with TWOWAY_ENCRYPTION_KEY.

The store's tables are created by the app in distribution mode, not by these migrations, and exist
only where it ran. Where they hold tokens, this revision needs the key from the environment at
migration time; without it, it refuses (the ledger stays at 0009, its rows untouched, and twoway does
not start) rather than leave tokens readable by anyone who can read the database. Where they hold
none, it needs no key.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.encryption import ENCRYPTION_KEY_ENV, NEW_KEY_COMMAND, EncryptionKeyError, cipher_from_env
from storage.installations import SECRET_COLUMNS, count_secret_rows, decrypt_secrets, encrypt_secrets

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    connection = op.get_bind()
    existing = sa.inspect(connection)
    if connection.dialect.name == "postgresql":
        # slack_sdk made them VARCHAR(200), which PostgreSQL enforces; a ciphertext is about 1.4 times
        # its clear text plus 76 characters. SQLite enforces no length.
        for table, columns in SECRET_COLUMNS.items():
            if existing.has_table(table):
                for column in columns:
                    op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(200))
    held = {table: n for table, n in count_secret_rows(connection).items() if n}
    if not held:
        return
    cipher = cipher_from_env()
    if cipher is None:
        rows = ", ".join(f"{table} {n} row{'s' if n != 1 else ''}" for table, n in held.items())
        raise EncryptionKeyError(
            f"{ENCRYPTION_KEY_ENV} is not set, and the database holds Slack tokens in plain text ({rows}): "
            f"set it (make one with {NEW_KEY_COMMAND}) and migrate again, and they will be encrypted with it"
        )
    if connection.dialect.name == "sqlite":
        # The clear text is overwritten where it lay rather than left in a free slot of its page.
        connection.exec_driver_sql("PRAGMA secure_delete=ON")
    encrypt_secrets(connection, cipher)


def downgrade() -> None:
    # The columns stay TEXT: the clear text fits, and the tables are slack_sdk's, not ours to shrink.
    connection = op.get_bind()
    if not any(count_secret_rows(connection).values()):
        return
    cipher = cipher_from_env()
    if cipher is None:
        raise EncryptionKeyError(
            f"{ENCRYPTION_KEY_ENV} is not set: downgrading below 0010 stores the Slack tokens in plain text "
            "again, and only the key they were encrypted with can read them"
        )
    decrypt_secrets(connection, cipher)
