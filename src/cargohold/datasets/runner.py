"""Runs a guarded query: in a read-only transaction, under a statement timeout, at most `cap` rows.

PostgreSQL: `SET TRANSACTION READ ONLY` and `SET LOCAL statement_timeout`. SQLite: the connection is
`query_only` (the reader pool of the app, and every connector engine) and a progress handler
interrupts a statement past its deadline. The transaction is always rolled back.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["QueryFailed", "QueryResult", "json_value", "run_read_only", "wrap_query"]


class QueryFailed(ValueError):
    """The database refused or interrupted the query (its own message, one line)."""


@dataclass(frozen=True)
class QueryResult:
    rows: list[dict[str, Any]]
    truncated: bool
    columns: tuple[str, ...] = ()


def json_value(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and abs(value) < 2**53 else float(value)
    if isinstance(value, datetime | date | dtime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return str(value)


def wrap_query(views: dict[str, str], query: str, cap: int) -> str:
    """`WITH <views> SELECT * FROM (<query>) LIMIT cap + 1`: the query reads the views by name."""
    ctes = ", ".join(f'"{name}" AS ({sql})' for name, sql in views.items())
    head = f"WITH {ctes} " if ctes else ""
    return f"{head}SELECT * FROM ({query}) AS _ch_q LIMIT {int(cap) + 1}"


async def run_read_only(conn: AsyncConnection, sql: str, *, cap: int, timeout_seconds: float) -> QueryResult:
    """Run `sql` (already guarded and wrapped) on `conn`, inside its transaction, which the caller
    rolls back. At most `cap` rows; `truncated` says there were more."""
    dialect = conn.dialect.name
    handler_set = False
    raw: Any = None
    try:
        if dialect == "postgresql":
            await conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            await conn.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, int(timeout_seconds * 1000))}")
        elif dialect == "sqlite":
            raw = (await conn.get_raw_connection()).driver_connection
            deadline = time.monotonic() + timeout_seconds
            await raw.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
            handler_set = True
        result = await conn.exec_driver_sql(sql)
        keys = list(result.keys())
        fetched = result.fetchmany(cap + 1)
    except DBAPIError as exc:
        message = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        if "interrupted" in message or "statement timeout" in message:
            message = f"the query took longer than {timeout_seconds:g}s and was stopped"
        raise QueryFailed(message) from None
    finally:
        if handler_set:
            await raw.set_progress_handler(None, 1000)
    rows = [{k: json_value(v) for k, v in zip(keys, row, strict=False)} for row in fetched[:cap]]
    return QueryResult(rows, len(fetched) > cap, tuple(keys))
