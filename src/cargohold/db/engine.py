"""Engine and session factory. SQLite gets WAL, a busy timeout and owner-only files (the database
holds secrets, encrypted or not), and aiosqlite connections with one thread hand-off per statement
(`sqlite_driver`); the rest is dialect-neutral.

`make_engine(url, keyring=...)` attaches the keyring that `crypto.EncryptedText`/`EncryptedJSON`
columns (and migrations that re-write them) use."""

from __future__ import annotations

import os
import stat
from contextlib import suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from ..crypto import Keyring, attach_keyring
from . import sqlite_driver

__all__ = [
    "ONE_STATEMENT",
    "SessionFactory",
    "make_engine",
    "make_reader_engine",
    "make_session_factory",
    "one_statement_options",
    "sqlite_file",
]

SessionFactory = async_sessionmaker[AsyncSession]
PRIVATE = 0o600
_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL (None for another database or one in memory)."""
    parsed = sa.make_url(url)
    if not parsed.drivername.startswith("sqlite") or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:") or parsed.query.get("mode") == "memory":
        return None
    return Path(parsed.database).expanduser()


def _create_private(path: Path) -> None:
    """Create the database file owner-only before SQLite does (SQLite gives its -wal/-shm files the
    database file's mode), and take group/other bits off one created before this rule."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    _tighten(path)


def _tighten(db: Path) -> None:
    for suffix in _SIDE_FILES:
        path = db.with_name(db.name + suffix)
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                os.chmod(path, mode & ~0o077)
        except FileNotFoundError:
            continue


def make_engine(url: str, *, keyring: Keyring | None = None, **kwargs: Any) -> AsyncEngine:
    engine = _make_engine(url, **kwargs)
    if keyring is not None:
        attach_keyring(engine, keyring)
    return engine


def _make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        db_file = sqlite_file(url)
        if db_file is not None:
            _create_private(db_file)
        # One connection, handed out in turn: SQLite has one writer anyway, and queueing in the pool
        # is fair and immediate where SQLite's busy handler would sleep and back off (p99 latency).
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, async_creator=sqlite_driver.connector(url, timeout=30), **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            if db_file is not None:
                _tighten(db_file)  # whatever the umask: the -wal/-shm files exist by now

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock up front: a deferred transaction that reads, then writes, fails at
            # once with "database is locked" when another writer got there first (no busy wait).
            sqlite_driver.begin(conn, "BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


ONE_STATEMENT = "cargohold_one_statement"
"""Execution option of a reads-engine connection that runs one statement (`one_statement_options`):
on SQLite it sends no BEGIN, so the statement reads its own snapshot and the connection's return to
the pool has no transaction to roll back (one thread hand-off in all, not two)."""


def one_statement_options(engine: AsyncEngine) -> dict[str, Any]:
    """Execution options for a connection that runs ONE read (`AppState.read_connection`): no
    transaction around it. SQLite: `ONE_STATEMENT` (SQLAlchemy's AUTOCOMMIT would set the driver's
    isolation level, a thread hand-off each way); PostgreSQL: AUTOCOMMIT (no BEGIN and no ROLLBACK
    round trip)."""
    if engine.dialect.name == "sqlite":
        return {ONE_STATEMENT: True}
    return {"isolation_level": "AUTOCOMMIT"}


def make_reader_engine(url: str, engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads. On SQLite, a pool of its own whose transactions are deferred and
    read-only: WAL lets readers run beside the one writer, so a read never waits for (or takes)
    the write lock. Elsewhere the same engine."""
    if not url.startswith("sqlite"):
        return engine
    reader = create_async_engine(
        url, async_creator=sqlite_driver.connector(url, timeout=30), pool_size=4, max_overflow=4
    )

    @event.listens_for(reader.sync_engine, "connect")
    def _sqlite_reader(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(reader.sync_engine, "begin")
    def _begin_deferred(conn: Any) -> None:
        if conn.get_execution_options().get(ONE_STATEMENT):
            return  # the one statement is its own transaction: no BEGIN, and no ROLLBACK after it
        sqlite_driver.begin(conn, "BEGIN")  # one snapshot per transaction, no lock taken

    keyring = getattr(engine.sync_engine.dialect, "cargohold_keyring", None)
    if keyring is not None:
        attach_keyring(reader, keyring)
    return reader


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
