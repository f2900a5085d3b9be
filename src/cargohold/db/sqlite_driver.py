"""aiosqlite with one thread hand-off per statement.

SQLAlchemy's aiosqlite adapter drives a statement through four awaits on aiosqlite's connection
thread: make a cursor, execute, fetch the rows, close the cursor. Each is a round trip through a
queue to the thread and back through the event loop's self-pipe, so a point SELECT made ~4 hand-offs
and an INSERT ~3, and a turn's handful of statements spent more time handing off than in SQLite.

`OneHopConnection` is aiosqlite's `Connection` with one change: its `cursor()` returns a
`OneHopCursor`, whose `execute` / `executemany` make the sqlite3 cursor, run the statement, read
its description, rows, rowcount and lastrowid and close the cursor in one call on the connection's
thread. The adapter's later awaits (`fetchall`, `close`) then return at once. Everything else
(the thread, the queue, transactions, errors as sqlite3 raises them, SQLAlchemy's dialect and
pool) is aiosqlite's and SQLAlchemy's, unchanged. Every row of a result is read at execute: the
adapter does that too for every cursor but a server-side one, and nothing here streams results.

`connector(url, **connect_args)` is the `async_creator` for `create_async_engine`: it opens the
file SQLAlchemy would open for that URL, with the same arguments.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import aiosqlite
import sqlalchemy as sa
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

__all__ = ["OneHopConnection", "OneHopCursor", "connector"]

_Result = tuple[Any, list[Any], int, int | None]


class OneHopCursor:
    """The part of aiosqlite's `Cursor` that SQLAlchemy's adapter uses, one hand-off a statement."""

    arraysize = 1

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self._rows: deque[Any] = deque()

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def _run(self, many: bool, sql: str, parameters: Any) -> _Result:
        """On the connection's thread: the whole statement."""
        cursor = self._connection._conn.cursor()
        try:
            if many:
                cursor.executemany(sql, parameters)
            elif parameters is None:
                cursor.execute(sql)
            else:
                cursor.execute(sql, parameters)
            description = cursor.description
            rows = cursor.fetchall() if description else []
            return description, rows, cursor.rowcount, cursor.lastrowid
        finally:
            cursor.close()

    async def _call(self, many: bool, sql: str, parameters: Any) -> OneHopCursor:
        result: _Result = await self._connection._execute(self._run, many, sql, parameters)
        self.description, rows, self.rowcount, self.lastrowid = result
        self._rows = deque(rows)
        return self

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] | None = None) -> OneHopCursor:
        return await self._call(False, sql, parameters)

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneHopCursor:
        return await self._call(True, sql, parameters)

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


class OneHopConnection(aiosqlite.Connection):
    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)


def connector(url: str, **connect_args: Any) -> Callable[[], Awaitable[OneHopConnection]]:
    """An `async_creator` opening `url` as SQLAlchemy's aiosqlite dialect would (its file, `uri`,
    `check_same_thread`), plus `connect_args`."""
    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(sa.make_url(url))
    connect = partial(sqlite3.connect, *args, **{**kwargs, **connect_args})

    async def create() -> OneHopConnection:
        connection = OneHopConnection(connect, iter_chunk_size=64)
        connection._thread.daemon = True  # as SQLAlchemy's dialect does: never hold up the exit
        await connection
        return connection

    return create
