"""A request's token lookup (`AppState.read_connection`) runs its one SELECT with no transaction
around it, on both databases: no BEGIN or ROLLBACK to wait for, and it reads what is committed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cargohold.db.engine import make_engine, make_reader_engine, one_statement_options

from ..conftest import PG_URL


@pytest.fixture(params=["sqlite", "postgres"])
async def reader(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("CARGOHOLD_TEST_DATABASE_URL is not set")
        url = PG_URL
    else:
        url = f"sqlite+aiosqlite:///{tmp_path / 'reads.db'}"
    engine = make_engine(url)
    reads = make_reader_engine(url, engine)
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS one_statement_probe (n INTEGER)"))
        await conn.execute(sa.text("DELETE FROM one_statement_probe"))
    try:
        yield engine, reads
    finally:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE one_statement_probe"))
        await reads.dispose()
        if reads is not engine:
            await engine.dispose()


async def test_one_statement_reads_outside_a_transaction(reader: tuple[AsyncEngine, AsyncEngine]) -> None:
    engine, reads = reader
    count = sa.text("SELECT count(*) FROM one_statement_probe")
    one_statement = reads.execution_options(**one_statement_options(reads))  # as `AppState.read_connection`
    for expected in (0, 1):
        async with one_statement.connect() as conn:
            assert (await conn.execute(count)).scalar_one() == expected
            if reads.dialect.name == "postgresql":  # each statement its own transaction
                assert await _transaction_ids(conn) == 2
            else:
                raw = await conn.get_raw_connection()
                assert raw.driver_connection is not None
                assert not raw.driver_connection._conn.in_transaction
        async with engine.begin() as writer:
            await writer.execute(sa.text("INSERT INTO one_statement_probe (n) VALUES (1)"))
    if reads.dialect.name == "postgresql":
        async with reads.connect() as conn:  # a connection without the option: one transaction, as before
            assert await _transaction_ids(conn) == 1


async def _transaction_ids(conn: AsyncConnection) -> int:
    """How many transactions two statements on `conn` ran in."""
    first = (await conn.execute(sa.text("SELECT txid_current()"))).scalar_one()
    second = (await conn.execute(sa.text("SELECT txid_current()"))).scalar_one()
    return 1 if first == second else 2
