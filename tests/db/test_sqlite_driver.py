"""The SQLite engine's aiosqlite connection with one thread hand-off per statement: what SQLAlchemy
reads back (rows, rowcount, lastrowid, errors, rollback) is what the stock adapter gives, from one
call on the connection's thread per statement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from cargohold.db.engine import make_engine, make_reader_engine
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


async def test_one_hand_off_per_statement(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    original = OneHopConnection._execute

    async def counted(self: OneHopConnection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args[1].split()[0] if getattr(fn, "__name__", "") == "_run" else repr(fn))
        return await original(self, fn, *args, **kwargs)

    async with engine.begin() as conn:
        await conn.execute(ITEMS.insert().values(name="a"))
    async with engine.connect() as conn:
        monkeypatch.setattr(OneHopConnection, "_execute", counted)
        assert (await conn.execute(sa.select(ITEMS.c.name).where(ITEMS.c.id == 1))).scalar_one() == "a"
        # One call each for the transaction's BEGIN and the SELECT (the stock adapter: cursor,
        # execute, close; then cursor, execute, fetchall, close).
        assert calls == ["BEGIN", "SELECT"]


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
