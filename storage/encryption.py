"""Secrets encrypted at rest: a column type that stores Fernet tokens and reads back the clear text.

The keys come from ``TWOWAY_ENCRYPTION_KEY``: one Fernet key, or several separated by commas while
the key is rotated. The first encrypts; every one of them decrypts (``MultiFernet``), so replicas
given ``new,old`` read what either key wrote, and ``twoway rotate-key`` re-encrypts everything with the
new one (Airflow's procedure for its own Fernet key, ``airflow rotate-fernet-key``).

Nothing here prints a key or a secret: errors name the variable and the column, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Dialect, Text
from sqlalchemy.types import TypeDecorator

ENCRYPTION_KEY_ENV = "TWOWAY_ENCRYPTION_KEY"
NEW_KEY_COMMAND = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


class EncryptionKeyError(ValueError):
    """The key is missing, malformed or not the one the stored secrets were encrypted with; the message
    says what to set, and never shows a key or a secret."""


class UndecryptableSecret(EncryptionKeyError):
    """A stored secret that none of the keys decrypts."""

    def __init__(self, column: str) -> None:
        super().__init__(
            f"{column} could not be decrypted with {ENCRYPTION_KEY_ENV}: it was encrypted with another key; "
            "set that key (first, or after the new one while rotating)"
        )
        self.column = column


def make_cipher(keys: str) -> MultiFernet:
    """The cipher of comma-separated Fernet ``keys``, the first one encrypting; `EncryptionKeyError`
    naming the first that is not a key."""
    parts = [part.strip() for part in keys.split(",")]
    fernets = []
    for number, part in enumerate(parts, start=1):
        try:
            fernets.append(Fernet(part))
        except ValueError:
            # Fernet's own message is generic; the value itself may be a real key with a typo.
            raise EncryptionKeyError(
                f"{ENCRYPTION_KEY_ENV}'s key {number} is not a Fernet key (32 url-safe base64-encoded "
                f"bytes, 44 characters); make one with {NEW_KEY_COMMAND}"
            ) from None
    return MultiFernet(fernets)


def cipher_from_env(env: Mapping[str, str] = os.environ) -> MultiFernet | None:
    """The cipher of ``TWOWAY_ENCRYPTION_KEY``, None when it is unset or blank."""
    keys = env.get(ENCRYPTION_KEY_ENV, "").strip()
    return make_cipher(keys) if keys else None


class EncryptedText(TypeDecorator[str]):
    """Text stored as a Fernet token of its UTF-8 bytes, and read back in the clear.

    Each write is encrypted afresh (a random IV), so the column can't be searched by value: slack_sdk's
    store looks installations up by team and date, never by token.
    """

    impl = Text
    # The cipher is part of the type's cache key (by identity): a statement compiled for one cipher is
    # never reused with another's processors.
    cache_ok = True

    def __init__(self, cipher: MultiFernet, column: str) -> None:
        super().__init__()
        self.cipher = cipher
        self.column = column

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(self.cipher, value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(self.cipher, str(value), self.column)


def encrypt(cipher: MultiFernet, value: str) -> str:
    """``value`` encrypted with the cipher's first key."""
    return cipher.encrypt(value.encode()).decode()


def decrypt(cipher: MultiFernet, stored: str, column: str) -> str:
    """The clear text of what ``encrypt`` stored in ``column``; `UndecryptableSecret` if no key opens it."""
    try:
        return cipher.decrypt(stored.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(column) from None


def rotate(cipher: MultiFernet, stored: str, column: str) -> str:
    """``stored`` re-encrypted with the cipher's first key, whichever of its keys encrypted it."""
    try:
        return cipher.rotate(stored.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(column) from None
