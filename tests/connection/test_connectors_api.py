"""/v1/connection over HTTP: integrations with their config schemas; connectors created only after a
connection test, their secrets encrypted at rest and masked on every read; one default per
integration; another workspace's connector is a 404; a connector's language models."""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa

from ..conftest import MakeTenant, Tenant
from ..fakes.fake_llm import FakeLLM
from ..harness import Server
from .conftest import connect, create_connector

KEY = "sk-alpha-123456"


class TestIntegrations:
    async def test_list_and_get(self, server: Server, tenant: Tenant) -> None:
        listed = await tenant.client.get("/v1/connection/integrations/list")
        assert listed.status_code == 200, listed.text
        integrations = {i["slug"]: i for i in listed.json()["integrations"]}
        assert set(integrations) == {
            "openai",
            "anthropic",
            "gemini",
            "openaiCompatible",
            "offline",
            "postgresql",
            "sqlite",
        }
        openai = integrations["openai"]["configSchema"]
        assert openai["required"] == ["apiKey"] and openai["properties"]["apiKey"]["writeOnly"] is True
        assert integrations["openaiCompatible"]["configSchema"]["required"] == ["baseUrl"]
        assert integrations["postgresql"]["category"] == "database"
        assert not integrations["sqlite"]["isLanguageModelProvider"]

        databases = await tenant.client.get("/v1/connection/integrations/list", params={"category": "database"})
        assert {i["slug"] for i in databases.json()["integrations"]} == {"postgresql", "sqlite"}
        gemini = await tenant.client.get("/v1/connection/integrations/gemini")
        assert gemini.status_code == 200 and gemini.json()["integration"]["name"] == "Gemini"
        missing = await tenant.client.get("/v1/connection/integrations/hubspot")
        assert (missing.status_code, missing.json()["reason"]) == (404, "integrationNotFound")


class TestConnectors:
    async def test_crud_secrets_masked_and_encrypted(
        self, allowed: Server, owner: Tenant, make_tenant: MakeTenant, provider_a: FakeLLM
    ) -> None:
        created = await create_connector(
            owner,
            slug="alpha",
            name="Alpha",
            integrationSlug="openaiCompatible",
            config={"baseUrl": provider_a.openai_base_url, "apiKey": KEY},
            rateLimit={"maxRequests": 5, "intervalMs": 1000},
        )
        assert created.status_code == 200, created.text
        assert KEY not in created.text
        connector = created.json()["connector"]
        assert created.json()["dataset"] is None
        assert connector["config"] == {"baseUrl": provider_a.openai_base_url, "apiKey": "********"}
        assert connector["rateLimit"] == {"maxRequests": 5, "intervalMs": 1000} and connector["isDefault"] is False
        assert provider_a.keys == [KEY]  # the connection test listed the models with the key
        uuid = connector["uuid"]

        async with allowed.state.engine.connect() as conn:
            raw = sa.table("connectors", sa.column("config", sa.Text), sa.column("uuid", sa.Uuid))
            stored = (
                await conn.execute(sa.select(raw.c.config).where(raw.c.uuid == UUID(uuid)))
            ).scalar_one()  # the raw column, of this test's connector only (the server is shared)
        assert stored.startswith("fernet:") and KEY not in stored and "baseUrl" not in stored

        got = await owner.client.get(f"/v1/connection/connectors/{uuid}")
        params = {"integrationSlug": "openaiCompatible"}
        listed = await owner.client.get("/v1/connection/connectors/list", params=params)
        assert got.json()["connector"] == connector and listed.json()["connectors"] == [connector]
        other = await owner.client.get("/v1/connection/connectors/list", params={"integrationSlug": "openai"})
        assert other.json()["connectors"] == []

        # Sent back as read (masked), the key is kept; the connection test ran with the stored key.
        renamed = await owner.client.put(
            f"/v1/connection/connectors/{uuid}", json={"name": "Alpha 2", "config": connector["config"]}
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["connector"]["name"] == "Alpha 2" and KEY not in renamed.text
        assert provider_a.keys[-1] == KEY
        # The mask with another base URL would send the stored key elsewhere: refused.
        moved = await owner.client.put(
            f"/v1/connection/connectors/{uuid}",
            json={"config": {"baseUrl": "http://127.0.0.2:9/v1", "apiKey": "********"}},
        )
        assert moved.status_code == 400 and "baseUrl" in moved.json()["errorMessage"]

        stranger = await make_tenant(allowed, "other")
        for method in ("GET", "PUT", "DELETE"):
            response = await stranger.client.request(
                method, f"/v1/connection/connectors/{uuid}", json={} if method == "PUT" else None
            )
            assert (response.status_code, response.json()["reason"]) == (404, "connectorNotFound")
        assert (await stranger.client.get("/v1/connection/connectors/list")).json()["connectors"] == []

        deleted = await owner.client.delete(f"/v1/connection/connectors/{uuid}")
        assert deleted.status_code == 200
        gone = await owner.client.get(f"/v1/connection/connectors/{uuid}")
        assert gone.status_code == 404

    async def test_one_default_per_integration(self, allowed: Server, owner: Tenant, provider_a: FakeLLM) -> None:
        first = await connect(owner, provider_a, "first", isDefault=True)
        second = await connect(owner, provider_a, "second")
        assert first["isDefault"] and not second["isDefault"]
        made = await owner.client.put(f"/v1/connection/connectors/{second['uuid']}", json={"isDefault": True})
        assert made.json()["connector"]["isDefault"] is True
        listed = (await owner.client.get("/v1/connection/connectors/list")).json()["connectors"]
        assert {c["slug"]: c["isDefault"] for c in listed} == {"first": False, "second": True}
        taken = await connect_raw(owner, provider_a, "second")
        assert (taken.status_code, taken.json()["reason"]) == (409, "duplicateSlug")

    async def test_refused_before_anything_is_stored(
        self, allowed: Server, owner: Tenant, server: Server, tenant: Tenant, provider_a: FakeLLM
    ) -> None:
        wrong = await create_connector(
            owner,
            slug="wrong",
            integrationSlug="openaiCompatible",
            config={"baseUrl": provider_a.openai_base_url, "apiKey": "sk-wrong-999999"},
        )
        assert (wrong.status_code, wrong.json()["reason"]) == (400, "connectionTestFailed"), wrong.text
        assert "refused the API key (401)" in wrong.json()["errorMessage"]
        assert "sk-wrong-999999" not in wrong.text
        anthropic = await create_connector(
            owner,
            slug="claude",
            integrationSlug="anthropic",
            config={"baseUrl": provider_a.anthropic_base_url, "apiKey": "sk-wrong-999999"},
        )
        assert (anthropic.status_code, anthropic.json()["reason"]) == (400, "connectionTestFailed")
        unreachable = await create_connector(
            owner, slug="down", integrationSlug="openaiCompatible", config={"baseUrl": "http://127.0.0.1:9/v1"}
        )
        assert unreachable.status_code == 400 and "cannot be reached" in unreachable.json()["errorMessage"]
        invalid = await create_connector(owner, slug="bad", integrationSlug="openaiCompatible", config={"apiKey": "k"})
        assert (invalid.status_code, invalid.json()["reason"]) == (400, "invalidConfig")
        assert "baseUrl" in invalid.json()["errorMessage"]
        unknown = await create_connector(owner, slug="hub", integrationSlug="hubspot", config={})
        assert (unknown.status_code, unknown.json()["reason"]) == (404, "integrationNotFound")
        # A server that does not allow private addresses refuses the fake's 127.0.0.1 before connecting.
        private = await create_connector(
            tenant,
            slug="private",
            integrationSlug="openaiCompatible",
            config={"baseUrl": provider_a.openai_base_url, "apiKey": KEY},
        )
        assert (private.status_code, private.json()["reason"]) == (400, "urlNotAllowed"), private.text
        assert "CARGOHOLD_ALLOW_PRIVATE_URLS" in private.json()["errorMessage"]
        assert provider_a.keys == ["sk-wrong-999999", "sk-wrong-999999"]
        for who in (owner, tenant):
            assert (await who.client.get("/v1/connection/connectors/list")).json()["connectors"] == []


async def connect_raw(tenant: Tenant, fake: FakeLLM, slug: str):  # type: ignore[no-untyped-def]
    config = {"baseUrl": fake.openai_base_url, "apiKey": fake.api_key}
    return await create_connector(tenant, slug=slug, integrationSlug="openaiCompatible", config=config)


class TestLanguageModels:
    async def test_provider_list_with_limits_and_credits(
        self, allowed: Server, owner: Tenant, provider_a: FakeLLM
    ) -> None:
        provider_a.models = ["gpt-test", "gpt-4o-mini", "o3-mini"]
        connector = await connect(owner, provider_a, config={"modelPrices": {"o3-mini": {"input": 3, "output": 9}}})
        response = await owner.client.get(f"/v1/connection/connectors/{connector['uuid']}/languageModels")
        assert response.status_code == 200, response.text
        models = {m["slug"]: m for m in response.json()["languageModels"]}
        assert list(models) == ["gpt-test", "gpt-4o-mini", "o3-mini"]
        # The server's price table names gpt-test (tests/conftest TEST_PRICES); the connector's own, o3-mini.
        assert models["gpt-test"]["credits"] == {"input": 1.0, "output": 2.0}
        assert models["o3-mini"]["credits"] == {"input": 3.0, "output": 9.0}
        mini = models["gpt-4o-mini"]
        assert mini["contextWindowTokensLimit"] == 128000 and mini["name"] == "gpt 4o mini"
        assert mini["credits"] == {"input": 0.015, "output": 0.06}  # genai-prices' $/1k tokens x 100 credits/USD
        assert models["o3-mini"]["isReasoning"] is True and mini["isReasoning"] is False

        offline = await create_connector(owner, slug="off", integrationSlug="offline", config={})
        assert offline.status_code == 200, offline.text
        offline_uuid = offline.json()["connector"]["uuid"]
        listed = await owner.client.get(f"/v1/connection/connectors/{offline_uuid}/languageModels")
        assert [m["slug"] for m in listed.json()["languageModels"]] == ["offline"]
