"""`POST /v1/storage/query` against an adversarial corpus, on SQLite and PostgreSQL: every query
that writes, chains statements, reads another table or a catalog, calls a function outside the
allow-list, or runs too long is refused or stopped, and nothing is ever written."""

from __future__ import annotations

import pytest

from ..conftest import MakeTenant, Tenant
from ..harness import Server
from .helpers import create_model, create_records, query

REFUSED = [
    # writes and DDL
    "INSERT INTO native.orders (name) VALUES ('x')",
    "UPDATE native.orders SET name = 'x'",
    "DELETE FROM native.orders",
    "DROP TABLE storage_records",
    "CREATE TABLE stolen AS SELECT * FROM native.orders",
    "ALTER TABLE storage_records ADD COLUMN x int",
    "TRUNCATE storage_records",
    "GRANT ALL ON storage_records TO public",
    "COPY storage_records TO PROGRAM 'id'",
    "WITH d AS (DELETE FROM native.orders RETURNING *) SELECT * FROM d",
    "SELECT * INTO stolen FROM native.orders",
    "SELECT * FROM native.orders FOR UPDATE",
    "PRAGMA query_only = OFF",
    "ATTACH DATABASE '/tmp/x.db' AS x",
    "VACUUM INTO '/tmp/copy.db'",
    "SET statement_timeout = 0",
    "BEGIN",
    # several statements
    "SELECT 1; DELETE FROM native.orders",
    "SELECT 1; SELECT 2",
    "SELECT * FROM native.orders; --",
    # tables that are not the workspace's models
    "SELECT * FROM storage_records",
    "SELECT * FROM public.storage_records",
    "SELECT * FROM main.storage_records",
    "SELECT * FROM workspaces",
    "SELECT token_hash FROM api_tokens",
    "SELECT * FROM native.nope",
    "SELECT * FROM other.orders",
    "SELECT * FROM native.orders o JOIN messages m ON true",
    "SELECT * FROM native.orders WHERE _id IN (SELECT id FROM storage_records)",
    "WITH a AS (SELECT * FROM storage_records) SELECT * FROM a",
    "WITH storage_records AS (SELECT * FROM storage_records) SELECT * FROM storage_records",
    "SELECT * FROM (WITH x AS (SELECT 1) SELECT * FROM x) q, storage_records",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    "SELECT * FROM db.native.orders",
    "TABLE storage_records",
    "SELECT * FROM ONLY storage_records",
    "SELECT * FROM [storage_records]",
    "SELECT * FROM `storage_records`",
    'SELECT * FROM "storage_records"',
    "SELECT (SELECT token_hash FROM api_tokens LIMIT 1) FROM native.orders",
    "SELECT * FROM native.orders NATURAL JOIN api_tokens",
    "SELECT * FROM native.orders UNION SELECT * FROM api_tokens",
    "SELECT * FROM native.orders WHERE EXISTS (SELECT 1 FROM api_tokens)",
    "SELECT * FROM native.orders, LATERAL (SELECT * FROM api_tokens) x",
    "SELECT * FROM ROWS FROM (pg_sleep(1))",
    "VALUES (1)",
    "EXPLAIN SELECT * FROM native.orders",
    "SELECT * FROM native.orders WHERE _id = (SELECT id FROM storage_records LIMIT 1)",
    # catalogs
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM pg_user",
    "SELECT * FROM sqlite_master",
    "SELECT * FROM main.sqlite_master",
    "SELECT * FROM pragma_table_info('storage_records')",
    # functions outside the allow-list
    "SELECT pg_sleep(10)",
    "SELECT 1 FROM native.orders WHERE pg_sleep(10) IS NULL",
    "SELECT pg_catalog.pg_sleep(10)",
    "SELECT load_extension('/tmp/evil')",
    "SELECT readfile('/etc/passwd')",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT current_setting('data_directory')",
    "SELECT set_config('statement_timeout', '0', false)",
    "SELECT query_to_xml('SELECT * FROM api_tokens', true, true, '')",
    "SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)",
    "SELECT version()",
    "SELECT * FROM generate_series(1, 1000000000)",
    "SELECT randomblob(1000000000)",
    "SELECT zeroblob(1000000000)",
    # placeholders and nonsense
    "SELECT * FROM native.orders WHERE name = ?",
    "SELECT * FROM native.orders WHERE name = $1",
    "   ",
    "DROP",
    "not sql at all",
]


@pytest.fixture
async def owner(server: Server, make_tenant: MakeTenant) -> Tenant:
    tenant = await make_tenant(server, "owner")
    model = await create_model(tenant)
    await create_records(tenant, model, [{"_id": f"r{i:03}", "name": f"n{i}", "amount": i} for i in range(300)])
    return tenant


async def test_the_corpus_is_refused_and_nothing_is_written(
    owner: Tenant, server: Server, make_tenant: MakeTenant
) -> None:
    other = await make_tenant(server, "other")
    await create_records(other, await create_model(other), [{"_id": "theirs", "name": "Not yours"}])
    for sql in REFUSED:
        response = await query(owner, sql)
        assert response.status_code == 400, (sql, response.text)
        body = response.json()
        assert body.get("reason") == "queryNotAllowed", (sql, body)
        assert body["errorMessage"].startswith("query refused: "), sql
    count = await query(owner, "SELECT count(*) AS n, min(_id) AS first FROM native.orders")
    assert count.json()["rows"] == [{"n": 300, "first": "r000"}]
    theirs = await query(other, "SELECT _id FROM native.orders")
    assert theirs.json()["rows"] == [{"_id": "theirs"}]


async def test_reasons_are_clear(owner: Tenant) -> None:
    cases = {
        "DELETE FROM native.orders": "only a read-only SELECT is allowed",
        "SELECT 1; SELECT 2": "only one statement",
        "SELECT * FROM storage_records": "the table `storage_records` is not a model",
        "SELECT pg_sleep(10)": "the function `pg_sleep` is not allowed",
        "SELECT load_extension('x')": "the function `load_extension` is not allowed",
    }
    for sql, reason in cases.items():
        assert reason in (await query(owner, sql)).json()["errorMessage"], sql


async def test_text_that_does_not_tokenize_is_a_400(owner: Tenant) -> None:
    """Found by the fuzz drill: sqlglot's tokenizer error (not a ParseError) was a 500."""
    for sql in ("$", "\u00b0[", "SELECT '", "`"):
        response = await query(owner, sql)
        assert response.status_code == 400, (sql, response.text)
        assert response.json()["reason"] == "queryNotAllowed"


async def test_reads_are_allowed(owner: Tenant) -> None:
    sql = """
        WITH big AS (SELECT _id, amount FROM native.orders WHERE amount >= 290)
        SELECT b._id, o.name, b.amount,
               row_number() OVER (ORDER BY b.amount DESC) AS rank,
               sum(b.amount) OVER () AS total
        FROM big b JOIN native.orders o ON o._id = b._id
        ORDER BY b.amount DESC LIMIT 3
    """
    response = await query(owner, sql)
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [
        {"_id": "r299", "name": "n299", "amount": 299, "rank": 1, "total": 2945},
        {"_id": "r298", "name": "n298", "amount": 298, "rank": 2, "total": 2945},
        {"_id": "r297", "name": "n297", "amount": 297, "rank": 3, "total": 2945},
    ]
    grouped = await query(
        owner, "SELECT amount % 3 AS k, count(*) AS n FROM native.orders GROUP BY amount % 3 ORDER BY k"
    )
    assert grouped.json()["rows"] == [{"k": 0, "n": 100}, {"k": 1, "n": 100}, {"k": 2, "n": 100}]
    # A CTE of its own with a system table's name reads only itself.
    own = await query(owner, "WITH storage_records AS (SELECT 1 AS x) SELECT * FROM storage_records")
    assert own.json()["rows"] == [{"x": 1}]


async def test_huge_cross_joins_are_capped_or_stopped(owner: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    from cargohold.datasets import service

    monkeypatch.setattr(service, "QUERY_TIMEOUT_SECONDS", 0.5)
    rows = await query(owner, "SELECT a._id FROM native.orders a, native.orders b, native.orders c")
    assert rows.status_code == 200 and len(rows.json()["rows"]) == service.QUERY_ROW_CAP
    slow = await query(owner, "SELECT count(*) FROM native.orders a, native.orders b, native.orders c, native.orders d")
    assert slow.status_code == 400, slow.text
    assert "took longer than 0.5s and was stopped" in slow.json()["errorMessage"]
    assert (await query(owner, "SELECT count(*) AS n FROM native.orders")).json()["rows"] == [{"n": 300}]
