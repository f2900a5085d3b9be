"""Indexes of native models: a column declared `isIndexed` gets an expression index on
`storage_records`, partial to its model, over exactly the expression its view reads (so a filter,
a sort or a model-written WHERE on it is an index scan on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import StorageModel
from .views import RECORDS, native_view

__all__ = ["drop_indexes", "sync_indexes"]


def _prefix(model: StorageModel) -> str:
    return f"ix_sr_{model.uuid.hex}_"


def _name(model: StorageModel, slug: str) -> str:
    return _prefix(model) + hashlib.sha256(slug.encode()).hexdigest()[:8]


async def _existing(session: AsyncSession, model: StorageModel) -> set[str]:
    if session.get_bind().dialect.name == "postgresql":
        query = sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'storage_records' AND indexname LIKE :p")
    else:
        query = sa.text("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE :p")
    return {row[0] for row in await session.execute(query, {"p": _prefix(model) + "%"})}


async def sync_indexes(session: AsyncSession, model: StorageModel) -> None:
    if model.kind != "native":
        return
    dialect = session.get_bind().dialect
    view = native_view(dialect.name, model.workspace_uuid, model.uuid, model.columns)
    wanted = {_name(model, c["slug"]): c["slug"] for c in model.columns if c.get("isIndexed")}
    existing = await _existing(session, model)
    for name in existing - set(wanted):
        await session.execute(sa.text(f'DROP INDEX IF EXISTS "{name}"'))
    for name, slug in wanted.items():
        if name in existing:
            continue
        expression = view.columns[slug].value
        index = sa.Index(
            name,
            expression,
            RECORDS.c.id,
            postgresql_where=RECORDS.c.model_uuid == model.uuid,
            sqlite_where=RECORDS.c.model_uuid == model.uuid,
        )
        ddl = sa.schema.CreateIndex(index).compile(dialect=dialect, compile_kwargs={"literal_binds": True})
        RECORDS.indexes.discard(index)  # type: ignore[attr-defined]  # not part of the metadata: it belongs to this model only
        await session.execute(sa.text(str(ddl).replace(":", "\\:")))


async def drop_indexes(session: AsyncSession, model: StorageModel) -> None:
    for name in await _existing(session, model):
        await session.execute(sa.text(f'DROP INDEX IF EXISTS "{name}"'))
