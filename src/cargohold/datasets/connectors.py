"""Connector datasets: external SQL databases (PostgreSQL or SQLite; any SQLAlchemy URL whose
dialect the guard speaks), only ever read. An engine is opened per use (no pool is kept across
requests) with a read-only connection: `query_only` on SQLite, `SET TRANSACTION READ ONLY` on
PostgreSQL (`runner.run_read_only`). The URL is a secret: it never appears in a message."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, NoSuchTableError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from .guard import GLOT_DIALECT, KEEP, QueryRefused, guard_query
from .runner import QueryFailed, run_read_only, wrap_query

__all__ = ["ConnectorError", "async_url", "connector_engine", "query_columns", "table_columns", "type_of"]


class ConnectorError(ValueError):
    """The connector's database cannot be used for this (its message never carries the URL)."""


def async_url(url: str) -> str:
    """A sync URL of PostgreSQL or SQLite gets the async driver cargohold ships with."""
    for prefix, driver in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://")):
        if url.startswith(prefix):
            return driver + url[len(prefix) :]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url[len("sqlite://") :]
    return url


@asynccontextmanager
async def connector_engine(url: str) -> AsyncIterator[AsyncEngine]:
    try:
        engine = create_async_engine(async_url(url), poolclass=NullPool)
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise ConnectorError("the connector's URL is not a usable SQLAlchemy URL") from None
    if engine.dialect.name not in GLOT_DIALECT:
        await engine.dispose()
        raise ConnectorError(f"connectors of dialect {engine.dialect.name!r} are not supported (PostgreSQL, SQLite)")
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine.sync_engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

    try:
        yield engine
    finally:
        await engine.dispose()


def type_of(sql_type: Any) -> str:
    """A database column type as a Cargo column type."""
    try:
        python = sql_type.python_type
    except (NotImplementedError, AttributeError):
        python = None
    name = type(sql_type).__name__.lower()
    if python is bool:
        return "boolean"
    if python in (int, float) or "numeric" in name or "decimal" in name:
        return "number"
    if python is not None and python.__name__ in ("datetime", "date"):
        return "date"
    if python is dict or "json" in name:
        return "object"
    if python is list:
        return "array"
    if python is str:
        return "string"
    return "any"


def _column(slug: str, kind: str) -> dict[str, Any]:
    return {"slug": slug, "type": kind, "label": slug.replace("_", " ").capitalize(), "kind": "original"}


def _safe_slug(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", name):
        raise ConnectorError(f"the column {name!r} cannot be named in SQL by cargohold (letters, digits, `_`)")
    return name


async def table_columns(url: str, table: str) -> list[dict[str, Any]]:
    schema, _, name = table.rpartition(".")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or (schema and not re.fullmatch(r"[A-Za-z_]\w*", schema)):
        raise ConnectorError("`config.table` must be a table name, optionally `schema.table`")
    if schema.lower() in ("pg_catalog", "information_schema") or name.lower().startswith(("pg_", "sqlite_")):
        raise ConnectorError("system catalogs cannot be models")

    def read(conn: sa.Connection) -> list[dict[str, Any]]:
        columns = sa.inspect(conn).get_columns(name, schema=schema or None)
        return [_column(_safe_slug(c["name"]), type_of(c["type"])) for c in columns]

    async with connector_engine(url) as engine:
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(read)
        except NoSuchTableError:
            raise ConnectorError(f"no table {table!r} in the connector's database") from None
        except (DBAPIError, OSError) as exc:
            raise ConnectorError(f"the connector's database cannot be read: {type(exc).__name__}") from None


def _source_table(schema: str | None, name: str) -> str | None:
    if (schema or "").lower() in ("pg_catalog", "information_schema") or name.lower().startswith(("pg_", "sqlite_")):
        return None
    return f"{schema}.{name}" if schema else name


async def query_columns(url: str, query: str) -> tuple[str, list[dict[str, Any]]]:
    """The `sql` extractor's query, guarded (one read-only SELECT over the database's own tables,
    no catalogs), and its columns (from a run with no rows)."""
    async with connector_engine(url) as engine:
        dialect = engine.dialect.name
        try:
            checked = _guard_source(query, dialect)
        except QueryRefused as exc:
            raise ConnectorError(f"`config.query`: {exc}") from None
        try:
            async with engine.connect() as conn:
                try:
                    result = await run_read_only(conn, wrap_query({}, checked, 1), cap=1, timeout_seconds=10.0)
                finally:
                    await conn.rollback()
        except QueryFailed as exc:
            raise ConnectorError(f"`config.query` failed on the connector's database: {exc}") from None
        except OSError as exc:
            raise ConnectorError(f"the connector's database cannot be reached ({type(exc).__name__})") from None
    row = result.rows[0] if result.rows else {}
    columns = []
    for key in result.columns:
        value = row.get(key)
        kind = "any" if value is None else _kind_of_value(value)
        columns.append(_column(_safe_slug(key), kind))
    return checked, columns


def _kind_of_value(value: Any) -> str:
    """The column type of an `sql` model's column, from a value of its first row (as JSON)."""
    if isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        try:
            datetime.fromisoformat(value)
            return "date"
        except ValueError:
            pass
    return type_of(_python_type(value))


def _python_type(value: Any) -> Any:
    class _T:
        python_type = type(value)

    return _T()


def _guard_source(query: str, dialect: str) -> str:
    # The query reads the database's own tables, named as written (KEEP); catalogs are refused.
    return guard_query(query, dialect, lambda schema, name: KEEP if _source_table(schema, name) else None)
