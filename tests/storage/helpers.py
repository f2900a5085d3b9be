"""Helpers of the storage tests: the native dataset, a native model, records."""

from __future__ import annotations

from typing import Any

from ..conftest import Tenant

COLUMNS = [
    {"slug": "name", "type": "string", "label": "Name", "isIndexed": True},
    {"slug": "amount", "type": "number", "label": "Amount"},
    {"slug": "paid", "type": "boolean", "label": "Paid"},
    {"slug": "due", "type": "date", "label": "Due"},
    {"slug": "meta", "type": "object", "label": "Meta"},
    {"slug": "tags", "type": "array", "label": "Tags"},
    {"slug": "extra", "type": "any", "label": "Extra"},
    {"slug": "lines", "type": "array", "label": "Lines"},
]


async def native_dataset(tenant: Tenant) -> dict[str, Any]:
    response = await tenant.client.get("/v1/storage/datasets/list")
    assert response.status_code == 200, response.text
    return next(d for d in response.json()["datasets"] if d["kind"] == "native")


async def create_model(
    tenant: Tenant, slug: str = "orders", columns: list[dict[str, Any]] | None = None, **config: Any
) -> dict[str, Any]:
    dataset = await native_dataset(tenant)
    body = {
        "slug": slug,
        "name": slug.title(),
        "datasetUuid": dataset["uuid"],
        "extractorSlug": "native",
        "config": {"columns": COLUMNS if columns is None else columns, **config},
    }
    response = await tenant.client.post("/v1/storage/models", json=body)
    assert response.status_code == 200, response.text
    return response.json()["model"]


async def create_records(tenant: Tenant, model: dict[str, Any], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    body = {"modelUuid": model["uuid"], "records": [{"data": r} for r in rows]}
    response = await tenant.client.post("/v1/storage/records/createBulk", json=body)
    assert response.status_code == 200, response.text
    return response.json()["records"]


async def query(tenant: Tenant, sql: str) -> Any:
    return await tenant.client.post("/v1/storage/query", json={"query": sql})
