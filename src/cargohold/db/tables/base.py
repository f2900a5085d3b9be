"""The declarative base (naming convention), the partial-index conditions the tables share, and
new rows written with a Core INSERT (`complete`, `insert_rows`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import DeclarativeBase

NOT_DELETED = sa.text("deleted_at IS NULL")
UNFINISHED = sa.text("status IN ('pending', 'generating')")


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def complete(row: Base) -> None:
    """Give a new row (not in a session) every column a flush would: each column it was not given
    takes its default (a callable's value, a scalar) or None. For rows written with a Core INSERT
    (`insert_rows`), so the object is what was written, as a flushed one would be."""
    given = row.__dict__
    for attr, column in _columns(type(row)):
        if attr in given:
            continue
        if column.server_default is not None:
            raise ValueError(f"{type(row).__name__}.{attr} has a server default: give it a value")
        default = column.default
        value = None
        if isinstance(default, sa.ColumnDefault):
            value = default.arg(None) if default.is_callable else default.arg
        setattr(row, attr, value)


async def insert_rows(conn: AsyncConnection, rows: Sequence[Base]) -> None:
    """Write new rows of one table (each `complete`) with one Core INSERT: for a turn's chat and
    messages, a few hundred microseconds less CPU than the ORM's unit of work (bench/RESULTS.md,
    "Seventh pass"). The objects stay out of the session."""
    if not rows:
        return
    kind = type(rows[0])
    columns = _columns(kind)
    values = [{column.key: getattr(row, attr) for attr, column in columns} for row in rows]
    await conn.execute(_insert(kind), values)


@functools.cache
def _columns(kind: type[Base]) -> tuple[tuple[str, sa.Column[Any]], ...]:
    return tuple((prop.key, prop.columns[0]) for prop in sa.inspect(kind).column_attrs)  # type: ignore[misc]


@functools.cache
def _insert(kind: type[Base]) -> sa.Insert:
    return sa.insert(cast(sa.Table, kind.__table__))
