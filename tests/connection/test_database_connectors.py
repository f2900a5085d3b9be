"""Database connectors over HTTP: a `sqlite` (always) or `postgresql` (with PostgreSQL) connector
comes with its connector dataset, whose models the storage routes create and query; its URL's
password is masked on every read; a file outside the operator's directories, or a private host the
operator did not allow, is refused before anything is stored; deleting it removes its dataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from cargohold.settings import Settings

from ..conftest import PG_URL, MakeTenant, Tenant
from ..harness import start_server
from .conftest import create_connector

ROWS = [{"id": 1, "name": "Ada", "country": "UK"}, {"id": 2, "name": "Grace", "country": "US"}]


async def _fill(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP TABLE IF EXISTS customers"))
            await conn.execute(sa.text("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT, country TEXT)"))
            await conn.execute(sa.text("INSERT INTO customers VALUES (:id, :name, :country)"), ROWS)
    finally:
        await engine.dispose()


async def _ext_postgres() -> str:
    """A second PostgreSQL database beside the test one (`<name>_ext`), created once."""
    assert PG_URL
    base, name = PG_URL.rsplit("/", 1)
    admin = create_async_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            found = await conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": f"{name}_ext"})
            if found.first() is None:
                await conn.execute(sa.text(f'CREATE DATABASE "{name}_ext"'))
    finally:
        await admin.dispose()
    return f"{base}/{name}_ext"


async def _query(tenant: Tenant, sql: str) -> Any:
    response = await tenant.client.post("/v1/storage/query", json={"query": sql})
    assert response.status_code == 200, response.text
    return response.json()["rows"]


class TestDatabaseConnectors:
    async def test_dataset_models_queried_then_deleted(
        self, backend: str, make_settings: Callable[..., Settings], make_tenant: MakeTenant, tmp_path: Path
    ) -> None:
        (tmp_path / "data").mkdir()
        shop = tmp_path / "data" / "shop.db"
        await _fill(f"sqlite+aiosqlite:///{shop}")
        (tmp_path / "elsewhere.db").write_bytes(shop.read_bytes())
        connectors: list[tuple[str, dict[str, Any]]] = [("sqlite", {"path": str(shop)})]
        if backend == "postgres":
            ext = await _ext_postgres()
            await _fill(ext)
            # Trust auth ignores the password: it is there to be masked.
            connectors.append(("postgresql", {"url": ext.replace("postgres@", "postgres:pw-s3cret@", 1)}))
        settings = make_settings(sqlite_connector_dirs=str(tmp_path / "data"), allow_private_urls="127.0.0.0/8")
        async with start_server(settings) as srv:
            tenant = await make_tenant(srv)
            outside = await create_connector(
                tenant, slug="other", integrationSlug="sqlite", config={"path": str(tmp_path / "elsewhere.db")}
            )
            assert (outside.status_code, outside.json()["reason"]) == (400, "connectionTestFailed")
            assert "CARGOHOLD_SQLITE_CONNECTOR_DIRS" in outside.json()["errorMessage"]

            for integration, config in connectors:
                slug = f"shop_{integration}"
                created = await create_connector(tenant, slug=slug, integrationSlug=integration, config=config)
                assert created.status_code == 200, created.text
                assert "pw-s3cret" not in created.text
                connector, dataset = created.json()["connector"], created.json()["dataset"]
                if integration == "postgresql":
                    assert connector["config"]["url"].startswith("postgresql+asyncpg://postgres:********@")
                assert dataset["kind"] == "connector" and dataset["slug"] == slug
                assert dataset["connectorUuid"] == connector["uuid"]
                got = await tenant.client.get(f"/v1/storage/datasets/{dataset['uuid']}")
                assert got.json()["dataset"] == dataset

                model = await tenant.client.post(
                    "/v1/storage/models",
                    json={
                        "slug": "customers",
                        "name": "Customers",
                        "datasetUuid": dataset["uuid"],
                        "extractorSlug": "table",
                        "config": {"table": "customers"},
                    },
                )
                assert model.status_code == 200, model.text
                rows = await _query(tenant, f"SELECT name, country FROM {slug}.customers ORDER BY id")
                assert rows == [{"name": "Ada", "country": "UK"}, {"name": "Grace", "country": "US"}]
                models = await tenant.client.get(f"/v1/connection/connectors/{connector['uuid']}/languageModels")
                assert (models.status_code, models.json()["reason"]) == (400, "languageModelsNotSupported")

                assert (await tenant.client.delete(f"/v1/connection/connectors/{connector['uuid']}")).status_code == 200
                assert (await tenant.client.get(f"/v1/storage/datasets/{dataset['uuid']}")).status_code == 404
                gone = await tenant.client.post("/v1/storage/query", json={"query": f"SELECT 1 FROM {slug}.customers"})
                assert gone.status_code == 400
            if backend == "postgres":
                # A server that does not allow private addresses refuses 127.0.0.1 before connecting.
                async with start_server(make_settings()) as strict:
                    stranger = await make_tenant(strict)
                    refused = await create_connector(
                        stranger, slug="pg", integrationSlug="postgresql", config=connectors[1][1]
                    )
                    assert (refused.status_code, refused.json()["reason"]) == (400, "urlNotAllowed")
                    assert "pw-s3cret" not in refused.text
