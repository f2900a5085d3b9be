"""Alembic environment: uses the connection handed over by `cargohold.db.migrate`, or, from the
alembic CLI, the `sqlalchemy.url` option (`alembic -x url=...`)."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import Connection

from cargohold.crypto import keyring_from
from cargohold.db.engine import make_engine
from cargohold.db.tables import Base
from cargohold.settings import Settings

target_metadata = Base.metadata


def _include(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
    """Per-model record indexes (`ix_sr_<model>_*`, datasets/indexes.py) belong to models, not to
    the metadata: autogenerate must not propose dropping them."""
    return not (kind == "index" and reflected and (name or "").startswith("ix_sr_"))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=True, include_object=_include
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_url(url: str) -> None:
    engine = make_engine(url, keyring=keyring_from(Settings(database_url=url)))
    async with engine.begin() as conn:
        await conn.run_sync(_run)
    await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option("sqlalchemy.url")
    asyncio.run(_run_with_url(url or Settings().database_url))
