"""Engine and session factory. SQLite gets WAL and a busy timeout; the rest is dialect-neutral."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

__all__ = ["SessionFactory", "make_engine", "make_reader_engine", "make_session_factory"]

SessionFactory = async_sessionmaker[AsyncSession]


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if url.startswith("sqlite"):
        # One connection, handed out in turn: SQLite has one writer anyway, and queueing in the pool
        # is fair and immediate where SQLite's busy handler would sleep and back off (p99 latency).
        kwargs.setdefault("pool_size", 1)
        kwargs.setdefault("max_overflow", 0)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock up front: a deferred transaction that reads, then writes, fails at
            # once with "database is locked" when another writer got there first (no busy wait).
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def make_reader_engine(url: str, engine: AsyncEngine) -> AsyncEngine:
    """The engine for reads. On SQLite, a pool of its own whose transactions are deferred and
    read-only: WAL lets readers run beside the one writer, so a read never waits for (or takes)
    the write lock. Elsewhere the same engine."""
    if not url.startswith("sqlite"):
        return engine
    reader = create_async_engine(url, connect_args={"timeout": 30}, pool_size=4, max_overflow=4)

    @event.listens_for(reader.sync_engine, "connect")
    def _sqlite_reader(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(reader.sync_engine, "begin")
    def _begin_deferred(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")  # one snapshot per transaction, no lock taken

    return reader


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)
