"""Storage tests: the per-model indexes (`ix_sr_<model>_*`, datasets/indexes.py) are dropped after
each test, as deleting the model would: emptying the tables (TRUNCATE) leaves them behind."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from ..conftest import PG_URL


@pytest.fixture(autouse=True)
async def _drop_model_indexes(backend: str) -> AsyncIterator[None]:
    yield
    if backend != "postgres" or not PG_URL:
        return
    from cargohold.db.engine import make_engine

    engine = make_engine(PG_URL)
    try:
        async with engine.begin() as conn:
            names = await conn.execute(
                sa.text(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'storage_records' AND indexname LIKE 'ix_sr_%'"
                )
            )
            for (name,) in names.all():
                await conn.execute(sa.text(f'DROP INDEX IF EXISTS "{name}"'))
    finally:
        await engine.dispose()
