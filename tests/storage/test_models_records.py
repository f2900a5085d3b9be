"""Datasets, native models and their records over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from ..conftest import MakeTenant, Tenant
from ..harness import Server
from .helpers import create_model, create_records, native_dataset, query


class TestDatasetsAndModels:
    async def test_native_dataset_and_model_crud(self, tenant: Tenant) -> None:
        dataset = await native_dataset(tenant)
        assert dataset["slug"] == "native" and dataset["workspaceUuid"] == str(tenant.workspace_uuid)
        got = await tenant.client.get(f"/v1/storage/datasets/{dataset['uuid']}")
        assert got.status_code == 200 and got.json()["dataset"]["uuid"] == dataset["uuid"]
        # Listing again does not create a second native dataset.
        listed = (await tenant.client.get("/v1/storage/datasets/list")).json()["datasets"]
        assert [d["uuid"] for d in listed] == [dataset["uuid"]]

        model = await create_model(tenant)
        assert model["kind"] == "native" and model["idColumnSlug"] == "_id" and model["titleColumnSlug"] == "name"
        slugs = [c["slug"] for c in model["columns"]]
        assert slugs[:3] == ["_id", "_title", "_emitted_at"] and "amount" in slugs
        columns = await tenant.client.get("/v1/storage/columns/list", params={"modelUuid": model["uuid"]})
        assert [c["slug"] for c in columns.json()["columns"]] == slugs

        again = await tenant.client.post(
            "/v1/storage/models",
            json={
                "slug": "orders",
                "name": "x",
                "datasetUuid": dataset["uuid"],
                "extractorSlug": "native",
                "config": {},
            },
        )
        assert again.status_code == 409 and again.json()["reason"] == "duplicateSlug"

        ddl = (await tenant.client.get(f"/v1/storage/models/{model['uuid']}/ddl")).json()
        assert ddl["dialect"] in ("sqlite", "postgresql")
        assert ddl["ddl"].startswith('CREATE TABLE "native"."orders" (\n  "_id" ') and '"amount" ' in ddl["ddl"]

        updated = await tenant.client.put(f"/v1/storage/models/{model['uuid']}", json={"name": "Orders 2"})
        assert updated.status_code == 200 and updated.json()["model"]["name"] == "Orders 2"
        listed_models = (await tenant.client.get("/v1/storage/models/list")).json()["models"]
        assert [m["uuid"] for m in listed_models] == [model["uuid"]]

        assert (await tenant.client.delete(f"/v1/storage/models/{model['uuid']}")).status_code == 200
        gone = await tenant.client.get(f"/v1/storage/models/{model['uuid']}")
        assert gone.status_code == 404 and gone.json()["reason"] == "modelNotFound"

    async def test_bad_models(self, tenant: Tenant) -> None:
        dataset = await native_dataset(tenant)
        base = {"slug": "m", "name": "M", "datasetUuid": dataset["uuid"], "extractorSlug": "native"}
        cases = [
            ({**base, "config": {"columns": [{"slug": "a", "type": "money", "label": "A"}]}}, "modelNotCompatible"),
            ({**base, "config": {"columns": [{"slug": "_x", "type": "string", "label": "A"}]}}, "modelNotCompatible"),
            ({**base, "extractorSlug": "table", "config": {"table": "x"}}, "modelNotCompatible"),
            ({**base, "datasetUuid": "6f1c1f61-8bd5-4b39-9c45-3a1f5bd8d0c1", "config": {}}, "datasetNotFound"),
            ({**base, "config": {}, "schedule": {"every": "1h"}}, "modelNotCompatible"),
            ({**base, "config": {"columns": [], "nope": 1}}, "modelNotCompatible"),
        ]
        for body, reason in cases:
            response = await tenant.client.post("/v1/storage/models", json=body)
            assert response.json().get("reason") == reason, (body, response.text)
        missing = await tenant.client.get("/v1/storage/datasets/6f1c1f61-8bd5-4b39-9c45-3a1f5bd8d0c1")
        assert missing.status_code == 404 and missing.json()["reason"] == "datasetNotFound"


class TestRecords:
    async def test_create_list_get_update_remove(self, tenant: Tenant) -> None:
        model = await create_model(tenant)
        one = await tenant.client.post(
            "/v1/storage/records/create",
            json={"modelUuid": model["uuid"], "data": {"_id": "r1", "name": "Ada", "amount": 3, "due": "2024-05-01"}},
        )
        assert one.status_code == 200, one.text
        record = one.json()["record"]
        assert record["_id"] == "r1" and record["_title"] == "Ada" and record["due"] == "2024-05-01T00:00:00.000000Z"
        created = await create_records(tenant, model, [{"name": f"n{i}", "amount": i} for i in range(1500)])
        assert len(created) == 1500 and len({r["_id"] for r in created}) == 1500

        page = await tenant.client.post(
            "/v1/storage/records/list",
            json={"modelUuid": model["uuid"], "limit": 10, "offset": 0, "sort": {"kind": "asc", "columnSlug": "_id"}},
        )
        assert page.status_code == 200 and page.json()["isRefreshing"] is False
        ids = [r["_id"] for r in page.json()["records"]]
        assert len(ids) == 10 and ids == sorted(ids)

        got = await tenant.client.get("/v1/storage/records/get", params={"modelUuid": model["uuid"], "id": "r1"})
        assert got.json()["record"]["amount"] == 3

        updated = await tenant.client.put(
            "/v1/storage/records/update",
            json={"modelUuid": model["uuid"], "id": "r1", "data": {"name": "Grace", "amount": None}},
        )
        assert updated.status_code == 200, updated.text
        assert updated.json()["record"]["_title"] == "Grace" and "amount" not in updated.json()["record"]
        bulk = await tenant.client.put(
            "/v1/storage/records/updateBulk",
            json={"modelUuid": model["uuid"], "records": [{"id": created[0]["_id"], "data": {"paid": True}}]},
        )
        assert bulk.status_code == 200 and bulk.json()["records"][0]["paid"] is True

        removed = await tenant.client.request(
            "DELETE", "/v1/storage/records/remove", json={"modelUuid": model["uuid"], "id": "r1"}
        )
        assert removed.status_code == 200
        again = await tenant.client.get("/v1/storage/records/get", params={"modelUuid": model["uuid"], "id": "r1"})
        assert again.status_code == 404 and again.json()["reason"] == "recordNotFound"
        removed = await tenant.client.request(
            "DELETE",
            "/v1/storage/records/removeBulk",
            json={"modelUuid": model["uuid"], "ids": [r["_id"] for r in created[:500]]},
        )
        assert removed.status_code == 200
        count = await query(tenant, "SELECT count(*) AS n FROM native.orders")
        assert count.json() == {"rows": [{"n": 1000}], "isRefreshing": False}

    async def test_a_bad_record_writes_nothing(self, tenant: Tenant) -> None:
        model = await create_model(tenant)
        good = [{"name": f"ok{i}", "amount": i} for i in range(50)]
        cases = [
            ({"name": "x", "amount": "12"}, "record 50, column `amount`: expected a number, got str"),
            ({"name": "x", "paid": "yes"}, "record 50, column `paid`: expected a boolean"),
            ({"name": "x", "due": "soon"}, "record 50, column `due`"),
            ({"name": "x", "meta": [1]}, "record 50, column `meta`: expected an object"),
            ({"name": "x", "nope": 1}, "record 50: no column `nope`"),
        ]
        for bad, message in cases:
            body = {"modelUuid": model["uuid"], "records": [{"data": r} for r in [*good, bad]]}
            response = await tenant.client.post("/v1/storage/records/createBulk", json=body)
            assert response.status_code == 400, response.text
            assert message in response.json()["errorMessage"] and response.json()["reason"] == "invalidRecord"
        count = await query(tenant, "SELECT count(*) AS n FROM native.orders")
        assert count.json()["rows"] == [{"n": 0}]
        update = await tenant.client.put(
            "/v1/storage/records/updateBulk",
            json={"modelUuid": model["uuid"], "records": [{"id": "nope", "data": {"name": "x"}}]},
        )
        assert update.status_code == 404 and update.json()["reason"] == "recordNotFound"


class TestIsolation:
    async def test_every_route_is_scoped_to_the_workspace(self, server: Server, make_tenant: MakeTenant) -> None:
        owner = await make_tenant(server, "owner")
        intruder = await make_tenant(server, "intruder")
        model = await create_model(owner)
        await create_records(owner, model, [{"_id": "secret", "name": "Top secret", "amount": 1}])
        dataset = await native_dataset(owner)
        uuid = model["uuid"]
        attempts = [
            ("GET", f"/v1/storage/datasets/{dataset['uuid']}", None, None),
            ("GET", f"/v1/storage/models/{uuid}", None, None),
            ("PUT", f"/v1/storage/models/{uuid}", {"name": "pwned"}, None),
            ("DELETE", f"/v1/storage/models/{uuid}", None, None),
            ("GET", "/v1/storage/columns/list", None, {"modelUuid": uuid}),
            ("POST", "/v1/storage/records/list", {"modelUuid": uuid}, None),
            ("GET", "/v1/storage/records/get", None, {"modelUuid": uuid, "id": "secret"}),
            ("POST", "/v1/storage/records/create", {"modelUuid": uuid, "data": {"name": "x"}}, None),
            ("POST", "/v1/storage/records/createBulk", {"modelUuid": uuid, "records": [{"data": {}}]}, None),
            ("PUT", "/v1/storage/records/update", {"modelUuid": uuid, "id": "secret", "data": {}}, None),
            (
                "PUT",
                "/v1/storage/records/updateBulk",
                {"modelUuid": uuid, "records": [{"id": "secret", "data": {}}]},
                None,
            ),
            ("DELETE", "/v1/storage/records/remove", {"modelUuid": uuid, "id": "secret"}, None),
            ("DELETE", "/v1/storage/records/removeBulk", {"modelUuid": uuid, "ids": ["secret"]}, None),
        ]
        for method, path, body, params in attempts:
            response = await intruder.client.request(method, path, json=body, params=params)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["reason"] in ("modelNotFound", "datasetNotFound"), (method, path)
        assert (await intruder.client.get("/v1/storage/models/list")).json() == {"models": []}
        # Nor can a turn of the intruder's use the owner's model as a resource.
        resource = {"kind": "model", "slug": "orders", "modelUuid": uuid}
        response = await intruder.client.post(
            "/v1/ai/messages/stream",
            json={
                "chatUuid": "0b0e4f3c-1d2a-4b5c-8d9e-0f1a2b3c4d5e",
                "parts": [{"type": "text", "text": "hi"}],
                "resources": [resource],
            },
        )
        assert response.status_code == 400 and "not found in this workspace" in response.json()["errorMessage"]
        other = await native_dataset(intruder)
        assert other["uuid"] != dataset["uuid"]
        # Its own native dataset has the same slug, but SQL never reaches the owner's rows.
        response = await query(intruder, "SELECT * FROM native.orders")
        assert response.status_code == 400 and "not a model" in response.json()["errorMessage"]
        owner_rows = await query(owner, "SELECT _id, name FROM native.orders")
        assert owner_rows.json()["rows"] == [{"_id": "secret", "name": "Top secret"}]


class TestJsonValues:
    async def test_objects_and_arrays_read_back_the_same_on_both(self, tenant: Tenant) -> None:
        model = await create_model(tenant)
        await create_records(tenant, model, [{"_id": "a", "meta": {"k": [1, "x"]}, "tags": ["t"], "paid": True}])
        rows = await query(tenant, "SELECT meta, tags, paid FROM native.orders")
        assert rows.json()["rows"] == [{"meta": {"k": [1, "x"]}, "tags": ["t"], "paid": True}]


class TestIndexes:
    async def test_indexed_columns_get_an_index_of_their_own(self, server: Server, tenant: Tenant) -> None:
        async def names() -> set[str]:
            if server.state.engine.dialect.name == "postgresql":
                sql = "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_sr_%'"
            else:
                sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_sr_%'"
            async with server.state.engine.connect() as conn:
                return {row[0] for row in await conn.execute(sa.text(sql))}

        columns = [
            {"slug": "name", "type": "string", "label": "Name", "isIndexed": True},
            {"slug": "amount", "type": "number", "label": "Amount", "isIndexed": True},
        ]
        model = await create_model(tenant, columns=columns)
        prefix = "ix_sr_" + model["uuid"].replace("-", "")
        assert len({n for n in await names() if n.startswith(prefix)}) == 2
        columns[1]["isIndexed"] = False
        updated = await tenant.client.put(f"/v1/storage/models/{model['uuid']}", json={"config": {"columns": columns}})
        assert updated.status_code == 200, updated.text
        assert len({n for n in await names() if n.startswith(prefix)}) == 1
        changed = [{**columns[0]}, {**columns[1], "type": "string"}]
        refused = await tenant.client.put(f"/v1/storage/models/{model['uuid']}", json={"config": {"columns": changed}})
        assert refused.status_code == 400 and "cannot be changed" in refused.json()["errorMessage"]
        await tenant.client.delete(f"/v1/storage/models/{model['uuid']}")
        assert not {n for n in await names() if n.startswith(prefix)}
