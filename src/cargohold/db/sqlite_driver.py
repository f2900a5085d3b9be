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

A transaction's `BEGIN` rides along with its first statement (`OneHopConnection.begin_lazily`,
called from the engines' `begin` event): the BEGIN and that statement run in one hand-off, and a
transaction that runs no statement is never begun, so its COMMIT or ROLLBACK makes no hand-off at
all. Nothing else runs on the connection between SQLAlchemy's `begin` and the first statement, so
a transaction sees and locks exactly what it did with the BEGIN sent on its own: a deferred BEGIN
takes its snapshot at the first read either way, and BEGIN IMMEDIATE's wait for the write lock
(the busy timeout, then `database is locked`) happens at that first statement, which raises it.

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

__all__ = ["OneHopConnection", "OneHopCursor", "begin", "connector"]

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

    def _run(self, begin: str | None, many: bool, sql: str, parameters: Any) -> _Result:
        """On the connection's thread: the transaction's BEGIN if it is still to be sent, then the
        whole statement."""
        if begin is not None:
            self._connection._conn.execute(begin)
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
        connection = self._connection
        begin, connection._begin = connection._begin, None
        result: _Result = await connection._execute(self._run, begin, many, sql, parameters)
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
    _begin: str | None = None
    """A BEGIN that the next statement sends first (`begin_lazily`)."""

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)

    def begin_lazily(self, sql: str) -> None:
        """Begin a transaction with `sql` (`BEGIN`, `BEGIN IMMEDIATE`) in the same hand-off as its
        first statement."""
        self._begin = sql

    def _nothing_to_end(self) -> bool:
        """No transaction is open: none was begun (no statement ran since `begin_lazily`), or it
        has ended (the pool's reset after a commit). Read between statements, never during one."""
        begun, self._begin = self._begin is None, None
        return not begun or not self._conn.in_transaction

    async def commit(self) -> None:
        if not self._nothing_to_end():
            await super().commit()

    async def rollback(self) -> None:
        if not self._nothing_to_end():
            await super().rollback()


def begin(conn: sa.Connection, sql: str) -> None:
    """For an engine's `begin` event: `sql` begins the transaction with its first statement."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, OneHopConnection), "SQLite engines connect through `connector`"
    driver.begin_lazily(sql)


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
