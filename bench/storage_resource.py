"""A model resource's query over a 1,000,000-row native model (issue 11, item 9).

Creates a workspace and a native model (`status` and `amount` and `name` declared `isIndexed`),
fills it with N records in one INSERT ... SELECT (generated in the database), ANALYZEs, then times
the resource tool's query path (`datasets/query.run_resource_query`: the view narrowed by the
resource's filter and selected columns, the sqlglot guard, the read-only run with a timeout and
a row cap) for a few typical model-written queries. Prints p50/p95 per query.

    uv run python bench/storage_resource.py --database-url sqlite+aiosqlite:////tmp/bench-storage.db
    uv run python bench/storage_resource.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB --reset

`--reset` drops and recreates the PostgreSQL database's `public` schema first (use a scratch
database). A SQLite file is removed first.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from cargohold.datasets.indexes import sync_indexes
from cargohold.datasets.query import ResourceTarget, run_resource_query
from cargohold.db.engine import make_engine, make_reader_engine
from cargohold.db.migrate import upgrade
from cargohold.db.tables import StorageModel
from cargohold.db.types import utcnow
from cargohold.store import storage as store
from cargohold.store.workspaces import create_workspace

COLUMNS = [
    {"slug": "name", "type": "string", "label": "Name", "isIndexed": True},
    {"slug": "status", "type": "string", "label": "Status", "isIndexed": True},
    {"slug": "amount", "type": "number", "label": "Amount", "isIndexed": True},
    {"slug": "paid", "type": "boolean", "label": "Paid"},
    {"slug": "note", "type": "string", "label": "Note"},
]
FILTER = {
    "conjonction": "and",
    "groups": [
        {
            "conjonction": "and",
            "conditions": [{"kind": "string", "columnSlug": "status", "operator": "is", "values": "open"}],
        }
    ],
}
QUERIES = {
    "page (filter status=open, LIMIT 100)": "SELECT * FROM orders LIMIT 100",
    "sorted page (ORDER BY amount DESC LIMIT 100)": "SELECT * FROM orders ORDER BY amount DESC LIMIT 100",
    "lookup (WHERE name = ...)": "SELECT * FROM orders WHERE name = 'n123456'",
    "range page (amount BETWEEN, LIMIT 100)": "SELECT _id, amount FROM orders WHERE amount BETWEEN 500 AND 510 LIMIT 100",
}


def _fill_sql(dialect: str, model: uuid.UUID, workspace: uuid.UUID, n: int) -> str:
    statuses = "CASE i % 4 WHEN 0 THEN 'open' WHEN 1 THEN 'closed' WHEN 2 THEN 'draft' ELSE 'void' END"
    if dialect == "postgresql":
        data = (
            f"jsonb_build_object('name', 'n' || i, 'status', {statuses}, 'amount', (i * 7919) % 100000 / 100.0, "
            "'paid', i % 3 = 0, 'note', 'note number ' || i)"
        )
        return (
            "INSERT INTO storage_records (model_uuid, id, workspace_uuid, title, emitted_at, data) "
            f"SELECT '{model}', 'r' || i, '{workspace}', 'n' || i, now(), {data} FROM generate_series(1::bigint, {n}::bigint) AS i"
        )
    data = (
        f"json_object('name', 'n' || i, 'status', {statuses}, 'amount', ((i * 7919) % 100000) / 100.0, "
        "'paid', json(CASE WHEN i % 3 = 0 THEN 'true' ELSE 'false' END), 'note', 'note number ' || i)"
    )
    return (
        f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
        "INSERT INTO storage_records (model_uuid, id, workspace_uuid, title, emitted_at, data) "
        f"SELECT '{model.hex}', 'r' || i, '{workspace.hex}', 'n' || i, datetime('now'), {data} FROM s"
    )


async def main(url: str, n: int, runs: int, reset: bool) -> None:
    engine = make_engine(url)
    if reset and engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            await conn.execute(sa.text("CREATE SCHEMA public"))
    await upgrade(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session, session.begin():
        workspace, _ = await create_workspace(session, "bench")
        dataset = await store.native_dataset(session, workspace.uuid)
        now = utcnow()
        model = StorageModel(
            uuid=uuid.uuid4(),
            workspace_uuid=workspace.uuid,
            dataset_uuid=dataset.uuid,
            slug="orders",
            name="Orders",
            description=None,
            kind="native",
            extractor_slug="native",
            config={"columns": COLUMNS, "titleColumnSlug": "name"},
            columns=COLUMNS,
            id_column_slug="_id",
            title_column_slug="name",
            time_column_slug=None,
            created_at=now,
            updated_at=now,
        )
        session.add(model)
        await session.flush()
        await sync_indexes(session, model)  # as `POST /v1/storage/models` does: before the rows
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(sa.text(_fill_sql(engine.dialect.name, model.uuid, workspace.uuid, n)))
    async with engine.begin() as conn:
        await conn.execute(sa.text("ANALYZE" if engine.dialect.name == "sqlite" else "ANALYZE storage_records"))
    print(f"{engine.dialect.name}: {n:,} records written and analyzed in {time.perf_counter() - started:.1f}s")

    reader = make_reader_engine(url, engine)
    reads = async_sessionmaker(reader, expire_on_commit=False)
    target = ResourceTarget("orders", model, dataset, FILTER, ["name", "status", "amount", "paid"])
    for label, sql in QUERIES.items():
        timings = []
        rows = 0
        for i in range(runs + 5):
            t0 = time.perf_counter()
            async with reads() as session:
                result = await run_resource_query(session, target, sql, cap=100, timeout_seconds=30)
            if i >= 5:
                timings.append((time.perf_counter() - t0) * 1000)
            rows = len(result.rows)
        timings.sort()
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(f"  {label:48} rows={rows:3}  p50 {statistics.median(timings):7.2f} ms  p95 {p95:7.2f} ms")
    if reader is not engine:
        await reader.dispose()
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--reset", action="store_true", help="drop the PostgreSQL public schema first")
    args = parser.parse_args()
    if args.database_url.startswith("sqlite"):
        Path(sa.make_url(args.database_url).database or "").unlink(missing_ok=True)
    asyncio.run(main(args.database_url, args.records, args.runs, args.reset))
