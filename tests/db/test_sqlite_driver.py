"""The SQLite engine's aiosqlite connection with one thread hand-off per statement: what SQLAlchemy
reads back (rows, rowcount, lastrowid, errors, rollback) is what the stock adapter gives, from one
call on the connection's thread per statement; a transaction's BEGIN goes with its first statement
and locks (or takes its snapshot) there."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cargohold.db.engine import ONE_STATEMENT, make_engine, make_reader_engine
from cargohold.db.sqlite_driver import OneHopConnection

META = sa.MetaData()
ITEMS = sa.Table(
    "items",
    META,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String, unique=True, nullable=False),
    sa.Column("n", sa.Integer, nullable=False, server_default="0"),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    yield engine
    await engine.dispose()


async def test_rows_rowcount_lastrowid(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await conn.execute(ITEMS.insert().values(name="a"))
        assert first.inserted_primary_key == (1,)  # lastrowid
        await conn.execute(ITEMS.insert(), [{"name": "b"}, {"name": "c"}, {"name": "d"}])
        updated = await conn.execute(ITEMS.update().where(ITEMS.c.name != "a").values(n=ITEMS.c.n + 2))
        assert updated.rowcount == 3
        returned = await conn.execute(ITEMS.delete().where(ITEMS.c.name == "d").returning(ITEMS.c.id))
        assert returned.scalars().all() == [4]
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(ITEMS.c.name, ITEMS.c.n).order_by(ITEMS.c.id))).all()
        assert [tuple(r) for r in rows] == [("a", 0), ("b", 2), ("c", 2)]
        assert (await conn.execute(sa.select(ITEMS).where(ITEMS.c.name == "zz"))).first() is None
        streamed = await conn.stream(sa.select(ITEMS.c.name).order_by(ITEMS.c.id))
        assert [name async for (name,) in streamed] == ["a", "b", "c"]


async def test_errors_are_sqlalchemys_and_roll_back(engine: AsyncEngine) -> None:
    with pytest.raises(sa.exc.IntegrityError, match=r"UNIQUE constraint failed: items\.name"):
        async with engine.begin() as conn:
            await conn.execute(ITEMS.insert().values(name="x"))
            await conn.execute(ITEMS.insert().values(name="x"))
    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT * FROM missing"))
    async with engine.connect() as conn:  # the failed transaction wrote nothing; the pool's connection works
        assert (await conn.execute(sa.select(sa.func.count()).select_from(ITEMS))).scalar_one() == 0


@pytest.fixture
def hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each call on a connection's thread from now on: a statement as its first words (with the
    BEGIN it carries, if any), else the aiosqlite method."""
    calls: list[str] = []
    original = OneHopConnection._execute

    async def counted(self: OneHopConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "__name__", "") == "_run":
            begin, _many, sql = args[:3]
            calls.append(" + ".join(filter(None, [begin, sql.split()[0]])))
        else:
            calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(OneHopConnection, "_execute", counted)
    return calls


async def test_one_hand_off_per_statement(engine: AsyncEngine, hand_offs: list[str]) -> None:
    async with engine.begin() as conn:
        await conn.execute(ITEMS.insert().values(name="a"))
        await conn.execute(ITEMS.update().values(n=1))
    # The BEGIN goes with the first statement, the COMMIT is one call, and the pool's reset of a
    # connection whose transaction has ended makes none (the stock adapter: BEGIN, then cursor,
    # execute, close per statement, COMMIT, ROLLBACK).
    assert hand_offs == ["BEGIN IMMEDIATE + INSERT", "UPDATE", "commit"]
    hand_offs.clear()
    async with engine.connect() as conn:
        assert (await conn.execute(sa.select(ITEMS.c.name).where(ITEMS.c.id == 1))).scalar_one() == "a"
    assert hand_offs == ["BEGIN IMMEDIATE + SELECT", "rollback"]
    hand_offs.clear()
    async with engine.begin():  # a transaction that runs nothing is never begun
        pass
    assert hand_offs == []


async def test_begin_immediate_locks_at_the_first_statement(engine: AsyncEngine, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "driver.db", timeout=0, isolation_level=None)
    try:
        async with engine.begin() as conn:
            other.execute("BEGIN IMMEDIATE")  # nothing sent yet: the write lock is free
            other.execute("ROLLBACK")
            await conn.execute(sa.select(ITEMS.c.id))  # a read, sent with BEGIN IMMEDIATE
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # committed: free again
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_read_transaction_is_one_snapshot(engine: AsyncEngine, tmp_path: Path) -> None:
    reader = make_reader_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", engine)
    count = sa.select(sa.func.count()).select_from(ITEMS)
    try:
        async with reader.connect() as conn:
            assert (await conn.execute(count)).scalar_one() == 0
            async with engine.begin() as writer:
                await writer.execute(ITEMS.insert().values(name="w"))
            assert (await conn.execute(count)).scalar_one() == 0  # the BEGIN sent with the first read holds
        async with reader.connect() as conn:
            assert (await conn.execute(count)).scalar_one() == 1
    finally:
        await reader.dispose()


async def test_a_one_statement_read_is_one_hand_off(engine: AsyncEngine, tmp_path: Path, hand_offs: list[str]) -> None:
    reader = make_reader_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}", engine)
    count = sa.select(sa.func.count()).select_from(ITEMS)
    try:
        for expected in (0, 1):
            async with reader.connect() as conn:
                await conn.execute(sa.select(1))  # the pool's connection opened, before counting
            hand_offs.clear()
            async with reader.execution_options(**{ONE_STATEMENT: True}).connect() as conn:
                assert (await conn.execute(count)).scalar_one() == expected
            assert hand_offs == ["SELECT"]  # no BEGIN before it, no ROLLBACK after it
            async with engine.begin() as writer:
                await writer.execute(ITEMS.insert().values(name=f"w{expected}"))
    finally:
        await reader.dispose()


async def test_reader_is_read_only(engine: AsyncEngine, tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}"
    reader = make_reader_engine(url, engine)
    try:
        async with reader.connect() as conn:
            assert (await conn.execute(sa.select(sa.func.count()).select_from(ITEMS))).scalar_one() == 0
            with pytest.raises(sa.exc.OperationalError, match="readonly"):
                await conn.execute(ITEMS.insert().values(name="r"))
    finally:
        await reader.dispose()
