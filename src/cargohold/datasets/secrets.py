"""The keyring that encrypts connector URLs at rest (`crypto.py`), found on the engine's dialect.

The key is `CARGOHOLD_SECRET_KEY` (or the generated key file beside the SQLite database, or in the
working directory): the server and `cargohold dataset add` read it the same way."""

from __future__ import annotations

import os

from sqlalchemy.ext.asyncio import AsyncEngine

from ..crypto import attach_keyring, load_keyring

__all__ = ["ensure_keyring"]


def ensure_keyring(database_url: str, *engines: AsyncEngine) -> None:
    missing = [e for e in engines if getattr(e.sync_engine.dialect, "cargohold_keyring", None) is None]
    if not missing:
        return
    keyring = load_keyring(os.environ.get("CARGOHOLD_SECRET_KEY"), database_url)
    for engine in missing:
        attach_keyring(engine, keyring)
