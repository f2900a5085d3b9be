"""Secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with key rotation.

The key comes from `CARGOHOLD_SECRET_KEY` (one or more keys, comma-separated; the first encrypts,
all decrypt, so a key can be rotated by putting the new one first). Each key is a Fernet key
(`Fernet.generate_key()`) or any passphrase of 16+ characters (stretched with SHA-256). Unset, a
key is generated into `cargohold.key` beside the SQLite database (mode 0600) and reused.

Columns that hold secrets use `EncryptedText` / `EncryptedJSON`. They find the keyring on the
engine's dialect (`attach_keyring`), so two apps in one process can use different keys. A stored
value is `fernet:<token>`; a value without the prefix (written before encryption existed) is read
as it is, and written back encrypted on its next update.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = [
    "PREFIX",
    "EncryptedJSON",
    "EncryptedText",
    "Keyring",
    "SecretKeyError",
    "attach_keyring",
    "keyring_of",
    "load_keyring",
]

PREFIX = "fernet:"
KEY_FILE = "cargohold.key"


class SecretKeyError(RuntimeError):
    """The secret key is missing, malformed, or does not decrypt what is stored."""


def _fernet(key: str) -> Fernet:
    key = key.strip()
    try:
        return Fernet(key.encode())
    except ValueError:
        if len(key) < 16:
            raise SecretKeyError(
                "CARGOHOLD_SECRET_KEY: each key must be a Fernet key or a passphrase of at least 16 characters"
            ) from None
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


class Keyring:
    """Encrypts with the first key, decrypts with any."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise SecretKeyError("no secret key")
        self._fernet = MultiFernet([_fernet(k) for k in keys])

    @classmethod
    def generate(cls) -> Keyring:
        return cls([Fernet.generate_key().decode()])

    def encrypt(self, plain: str) -> str:
        return PREFIX + self._fernet.encrypt(plain.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored  # written before encryption at rest: read as it is
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with CARGOHOLD_SECRET_KEY (was the key changed? "
                "keep the old key after the new one to rotate)"
            ) from exc


def _sqlite_path(database_url: str) -> Path | None:
    url = sa.make_url(database_url)
    if not url.drivername.startswith("sqlite") or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def key_file_for(database_url: str, data_dir: Path | None = None) -> Path:
    """Where a generated key lives: beside the SQLite database, else in `data_dir` (or the working
    directory)."""
    db = _sqlite_path(database_url)
    if db is not None:
        return db.expanduser().resolve().parent / KEY_FILE
    return (data_dir or Path.cwd()) / KEY_FILE


def load_keyring(secret_key: str | None, database_url: str, data_dir: Path | None = None) -> Keyring:
    """The keyring from the setting, else from the key file (generated on first use, mode 0600)."""
    if secret_key:
        return Keyring([k for k in secret_key.split(",") if k.strip()])
    path = key_file_for(database_url, data_dir)
    if path.exists():
        return Keyring([path.read_text().strip()])
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    # O_EXCL: two instances starting together on one data directory keep the same key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Keyring([path.read_text().strip()])
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return Keyring([key])


def attach_keyring(engine: AsyncEngine, keyring: Keyring) -> None:
    engine.sync_engine.dialect.cargohold_keyring = keyring  # type: ignore[attr-defined]


def keyring_of(dialect: Dialect) -> Keyring:
    keyring = getattr(dialect, "cargohold_keyring", None)
    if keyring is None:
        raise SecretKeyError("this engine has no keyring: call crypto.attach_keyring(engine, keyring) first")
    return keyring  # type: ignore[no-any-return]


class EncryptedText(sa.TypeDecorator[str]):
    """A string encrypted at rest."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring_of(dialect).encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring_of(dialect).decrypt(value)


class EncryptedJSON(sa.TypeDecorator[Any]):
    """A JSON value encrypted at rest (stored as text: it cannot be queried, only read whole)."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keyring_of(dialect).encrypt(json.dumps(value, separators=(",", ":"), ensure_ascii=False))

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(keyring_of(dialect).decrypt(value))
