"""Connector datasets: an external database attached with `cargohold dataset add` (a real second
database: a SQLite file always, the `_ext` PostgreSQL database when PostgreSQL is set), read by
`table` and `sql` models, never written; its URL never leaves the server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from ..conftest import PG_URL, MakeTenant, Tenant
from ..connection.test_database_connectors import _ext_postgres
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import Server, kind, stream_body, stream_turn
from .helpers import create_model, query


async def _ext_url(backend: str, tmp_path: Path) -> str:
    if backend == "postgres":
        assert PG_URL
        # `<test database>_ext`, created when missing (the machine may not have it yet).
        return os.environ.get("CARGOHOLD_TEST_EXT_DATABASE_URL") or await _ext_postgres()
    return f"sqlite+aiosqlite:///{tmp_path}/warehouse.db"


@pytest.fixture
async def warehouse(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The external database, with a `customers` table and a table no model names."""
    url = await _ext_url(backend, tmp_path)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for name in ("customers", "internal_secrets"):
            await conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
        await conn.execute(
            sa.text(
                "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, country TEXT, score FLOAT, "
                "active BOOLEAN, joined TIMESTAMP)"
            )
        )
        await conn.execute(sa.text("CREATE TABLE internal_secrets (k TEXT)"))
        await conn.execute(sa.text("INSERT INTO internal_secrets VALUES ('do-not-read')"))
        rows = [
            {"id": 1, "name": "Ada", "country": "UK", "score": 9.5, "active": True},
            {"id": 2, "name": "Grace", "country": "US", "score": 7.0, "active": False},
            {"id": 3, "name": "Linus", "country": "FI", "score": None, "active": True},
        ]
        await conn.execute(
            sa.text(
                "INSERT INTO customers (id, name, country, score, active) "
                "VALUES (:id, :name, :country, :score, :active)"
            ),
            rows,
        )
    await engine.dispose()
    yield url


def add_dataset(server: Server, tenant: Tenant, slug: str, url: str) -> subprocess.CompletedProcess[str]:
    # The CLI reads the key the way the server does: the server's setting, else the key file
    # generated beside its SQLite database.
    env = {k: v for k, v in os.environ.items() if k != "CARGOHOLD_SECRET_KEY"}
    env |= {"CARGOHOLD_DATABASE_URL": server.state.settings.database_url, "CARGOHOLD_DATASET_URL": url}
    if server.state.settings.secret_key is not None:
        env["CARGOHOLD_SECRET_KEY"] = server.state.settings.secret_key.get_secret_value()
    command = [sys.executable, "-m", "cargohold", "dataset", "add", "--workspace", str(tenant.workspace_uuid)]
    return subprocess.run([*command, "--slug", slug], env=env, capture_output=True, text=True, timeout=60)


async def connector_model(tenant: Tenant, dataset: dict[str, Any], slug: str, extractor: str, config: dict[str, Any]):
    body = {"slug": slug, "name": slug, "datasetUuid": dataset["uuid"], "extractorSlug": extractor, "config": config}
    return await tenant.client.post("/v1/storage/models", json=body)


class TestConnectorDatasets:
    async def test_attach_read_and_never_write(self, server: Server, tenant: Tenant, warehouse: str) -> None:
        added = add_dataset(server, tenant, "warehouse", warehouse)
        assert added.returncode == 0, added.stderr
        password_free = warehouse.split("://", 1)[1]
        assert password_free not in added.stdout + added.stderr

        datasets = (await tenant.client.get("/v1/storage/datasets/list")).json()["datasets"]
        connector = next(d for d in datasets if d["slug"] == "warehouse")
        assert connector["kind"] == "connector"
        got = await tenant.client.get(f"/v1/storage/datasets/{connector['uuid']}")
        assert password_free not in got.text and password_free not in str(datasets)
        async with server.state.engine.connect() as conn:
            stored = (await conn.execute(sa.text("SELECT url FROM storage_datasets WHERE slug = 'warehouse'"))).scalar()
        assert stored.startswith("fernet:") and password_free not in stored

        table = await connector_model(tenant, connector, "customers", "table", {"table": "customers"})
        assert table.status_code == 200, table.text
        model = table.json()["model"]
        types = {c["slug"]: c["type"] for c in model["columns"]}
        assert types == {
            "id": "number",
            "name": "string",
            "country": "string",
            "score": "number",
            "active": "boolean",
            "joined": "date",
        }
        assert model["kind"] == "connector" and model["idColumnSlug"] == "id"

        sql = await connector_model(
            tenant, connector, "active_customers", "sql", {"query": "SELECT id, name FROM customers WHERE active"}
        )
        assert sql.status_code == 200, sql.text
        assert [c["slug"] for c in sql.json()["model"]["columns"]] == ["id", "name"]

        rows = await query(tenant, "SELECT name, score FROM warehouse.customers ORDER BY id")
        assert rows.status_code == 200, rows.text
        assert rows.json()["rows"] == [
            {"name": "Ada", "score": 9.5},
            {"name": "Grace", "score": 7},
            {"name": "Linus", "score": None},
        ]
        joined = await query(
            tenant,
            "SELECT c.name FROM warehouse.customers c JOIN warehouse.active_customers a ON a.id = c.id ORDER BY c.id",
        )
        assert joined.json()["rows"] == [{"name": "Ada"}, {"name": "Linus"}]

        for refused in (
            "SELECT * FROM warehouse.internal_secrets",
            "SELECT * FROM internal_secrets",
            "DELETE FROM warehouse.customers",
            "SELECT * FROM warehouse.customers, native.orders",
        ):
            response = await query(tenant, refused)
            assert response.status_code == 400, (refused, response.text)
        bad = await connector_model(tenant, connector, "cat", "sql", {"query": "SELECT * FROM pg_catalog.pg_tables"})
        assert bad.status_code == 400 and bad.json()["reason"] == "modelNotCompatible"
        bad = await connector_model(tenant, connector, "cat2", "sql", {"query": "DELETE FROM customers"})
        assert bad.status_code == 400
        bad = await connector_model(tenant, connector, "nope", "table", {"table": "missing_table"})
        assert bad.status_code == 400 and "no table" in bad.json()["errorMessage"]

        write = await tenant.client.post("/v1/storage/records/create", json={"modelUuid": model["uuid"], "data": {}})
        assert write.status_code == 400 and write.json()["reason"] == "modelNotCompatible"
        engine = create_async_engine(warehouse)
        async with engine.connect() as conn:
            count = (await conn.execute(sa.text("SELECT count(*) FROM customers"))).scalar()
        await engine.dispose()
        assert count == 3

    async def test_other_workspaces_do_not_see_it(
        self, server: Server, make_tenant: MakeTenant, warehouse: str
    ) -> None:
        owner = await make_tenant(server, "owner")
        intruder = await make_tenant(server, "intruder")
        assert add_dataset(server, owner, "warehouse", warehouse).returncode == 0
        datasets = (await owner.client.get("/v1/storage/datasets/list")).json()["datasets"]
        connector = next(d for d in datasets if d["slug"] == "warehouse")
        made = await connector_model(owner, connector, "customers", "table", {"table": "customers"})
        assert made.status_code == 200
        seen = (await intruder.client.get("/v1/storage/datasets/list")).json()["datasets"]
        assert [d["slug"] for d in seen] == ["native"]
        assert (await intruder.client.get(f"/v1/storage/datasets/{connector['uuid']}")).status_code == 404
        response = await query(intruder, "SELECT * FROM warehouse.customers")
        assert response.status_code == 400
        taken = await connector_model(intruder, connector, "c", "table", {"table": "customers"})
        assert taken.status_code == 404 and taken.json()["reason"] == "datasetNotFound"
        await create_model(intruder)  # its own native models still work

    async def test_bad_dataset_add(self, server: Server, tenant: Tenant, warehouse: str) -> None:
        refused = add_dataset(server, tenant, "native", warehouse)
        assert refused.returncode != 0 and "native" in refused.stderr
        unreachable = add_dataset(server, tenant, "w2", "postgresql://user:hunter2@127.0.0.1:1/nowhere")
        assert unreachable.returncode != 0 and "hunter2" not in unreachable.stderr + unreachable.stdout

    async def test_a_connector_model_as_a_resource(
        self, server: Server, tenant: Tenant, warehouse: str, llm: FakeLLM
    ) -> None:
        assert add_dataset(server, tenant, "warehouse", warehouse).returncode == 0
        datasets = (await tenant.client.get("/v1/storage/datasets/list")).json()["datasets"]
        connector = next(d for d in datasets if d["slug"] == "warehouse")
        model = (await connector_model(tenant, connector, "customers", "table", {"table": "customers"})).json()["model"]
        active = {"kind": "boolean", "columnSlug": "active", "operator": "isTrue"}
        resource = {
            "kind": "model",
            "slug": "clients",
            "modelUuid": model["uuid"],
            "filter": {"conjonction": "and", "groups": [{"conjonction": "and", "conditions": [active]}]},
            "selectedColumnSlugs": ["name", "country"],
        }
        llm.script(
            Reply(
                tool_calls=[
                    ToolCall("clients", {"sql": "SELECT name, country FROM clients ORDER BY name"}, id="q"),
                    ToolCall("clients", {"sql": "SELECT score FROM clients"}, id="hidden"),
                    ToolCall("clients", {"sql": "SELECT * FROM internal_secrets"}, id="other"),
                ]
            ),
            Reply(text="Two active clients."),
        )
        _, chunks = await stream_turn(tenant.client, stream_body(resources=[resource]))
        outputs = {c["toolCallId"]: c["output"] for c in chunks if kind(c) == "tool-output-available"}
        errors = {c["toolCallId"]: c["errorText"] for c in chunks if kind(c) == "tool-output-error"}
        rows = [{"name": "Ada", "country": "UK"}, {"name": "Linus", "country": "FI"}]
        assert outputs == {"q": {"outcome": "executed", "data": {"rows": rows, "truncated": False}}}
        assert set(errors) == {"hidden", "other"}
        writable, _ = await stream_turn(tenant.client, stream_body(resources=[{**resource, "isReadOnly": False}]))
        assert writable.status_code == 400 and "connector datasets are read only" in writable.json()["errorMessage"]
        expected_dialect = "PostgreSQL" if warehouse.startswith("postgres") else "SQLite"
        assert expected_dialect in llm.requests[0]["tools"][0]["function"]["description"]
