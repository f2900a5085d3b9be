"""Turns on connectors, over real HTTP: each workspace's model runs on its own credentials (its own
fake provider, its own key), the default connector of an integration, the server's keys turned off,
Gemini and Anthropic through fakes speaking their wire formats, a model the connector cannot run,
a release naming a connector, and `rateLimit` across two instances (PostgreSQL + Redis)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from cargohold.settings import Settings

from ..conftest import MakeTenant, Tenant
from ..fakes.fake_llm import FakeLLM
from ..harness import Server, kind, new_uuid, start_server, stream_body, stream_turn, text_of, wait_for_status
from .conftest import connect, create_connector

ALLOW = "127.0.0.0/8"


def usage_of(chunks: list[Any]) -> dict[str, Any]:
    return next(c for c in chunks if kind(c) == "finish")["messageMetadata"]["usage"]


async def chats_of(tenant: Tenant) -> list[dict[str, Any]]:
    return (await tenant.client.get("/v1/ai/chats/list")).json()["chats"]


class TestOwnCredentials:
    async def test_two_workspaces_each_on_their_own_provider(
        self,
        allowed: Server,
        make_tenant: MakeTenant,
        provider_a: FakeLLM,
        provider_b: FakeLLM,
        llm: FakeLLM,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        caplog.set_level(logging.DEBUG)
        alpha, bravo = await make_tenant(allowed, "alpha"), await make_tenant(allowed, "bravo")
        prices = {"modelPrices": {"gpt-test": {"input": 10, "output": 20}}}
        mine = {
            "alpha": await connect(alpha, provider_a, config=prices),
            "bravo": await connect(bravo, provider_b),
        }
        seen: list[str] = []
        providers = allowed.state.models.providers
        kept: dict[str, Any] = {}
        for name, tenant in (("alpha", alpha), ("bravo", bravo)):
            clients = []
            for _ in range(2):
                body = stream_body(connectorUuid=mine[name]["uuid"], languageModelSlug="gpt-test")
                response, chunks = await stream_turn(tenant.client, body)
                assert response.status_code == 200, response.text
                assert text_of(chunks) == f"from {name}"
                usage = usage_of(chunks)
                assert usage["connectorUuid"] == mine[name]["uuid"]
                message = await wait_for_status(tenant.client, chunks[0]["messageId"], {"success"})
                seen += [json.dumps(chunks), str(message)]
                clients.append(providers.cached_client(uuid.UUID(mine[name]["uuid"])))
            # One provider client per connector, reused by its turns (built by the connection test).
            assert clients[0] is not None and clients[0] is clients[1]
            kept[name] = clients[0]
            # 10 input and 5 output tokens: alpha's own price table, bravo's from the server's.
            assert usage["creditsUsedCount"] == (0.2 if name == "alpha" else 0.02)
            assert message["usage"]["connectorUuid"] == mine[name]["uuid"]
        assert set(provider_a.keys) == {provider_a.api_key} and set(provider_b.keys) == {provider_b.api_key}
        assert len(provider_a.requests) == len(provider_b.requests) == 2
        assert llm.requests == []  # the server's own keys ran nothing

        # Another workspace's connector is not there for this one.
        stolen = await stream_turn(bravo.client, stream_body(connectorUuid=mine["alpha"]["uuid"]))
        assert (stolen[0].status_code, stolen[0].json()["reason"]) == (404, "connectorNotFound")
        # A model the connector cannot run: a 400 before anything is stored.
        chat = new_uuid()
        unknown = stream_body(chat, connectorUuid=mine["alpha"]["uuid"], languageModelSlug="gpt-nope")
        refused = await stream_turn(alpha.client, unknown)
        assert (refused[0].status_code, refused[0].json()["reason"]) == (400, "languageModelNotSupported")
        assert (await alpha.client.get(f"/v1/ai/chats/{chat}")).status_code == 404

        # A changed config gets a new client; a deleted connector's is dropped.
        alpha_uuid = uuid.UUID(mine["alpha"]["uuid"])
        changed = await alpha.client.put(
            f"/v1/connection/connectors/{alpha_uuid}",
            json={"config": {**mine["alpha"]["config"], "models": ["gpt-test"]}},
        )
        assert changed.status_code == 200, changed.text
        assert providers.cached_client(alpha_uuid) not in (None, kept["alpha"])
        assert providers.cached_client(uuid.UUID(mine["bravo"]["uuid"])) is kept["bravo"]
        for tenant in (alpha, bravo):
            listed = await tenant.client.get("/v1/connection/connectors/list")
            seen.append(listed.text)
        everything = "\n".join(seen) + caplog.text
        for key in (provider_a.api_key, provider_b.api_key):
            assert key is not None and key not in everything

    async def test_default_connector_and_server_keys_off(
        self, make_settings: Callable[..., Settings], make_tenant: MakeTenant, provider_a: FakeLLM, llm: FakeLLM
    ) -> None:
        async with start_server(make_settings(allow_private_urls=ALLOW, server_keys=False)) as srv:
            tenant = await make_tenant(srv)
            # No connector, and the server's keys are off: a clear 400, nothing stored.
            response, _ = await stream_turn(tenant.client, stream_body())
            assert (response.status_code, response.json()["reason"]) == (400, "missingProviderKey")
            assert "add a connector" in response.json()["errorMessage"]
            assert await chats_of(tenant) == []
            # The built-in offline model needs no key.
            offline, chunks = await stream_turn(tenant.client, stream_body(integrationSlug="offline"))
            assert offline.status_code == 200 and usage_of(chunks)["connectorUuid"] is None

            created = await create_connector(
                tenant,
                slug="house",
                integrationSlug="openai",
                isDefault=True,
                config={"apiKey": provider_a.api_key, "baseUrl": provider_a.openai_base_url},
            )
            assert created.status_code == 200, created.text
            house = created.json()["connector"]
            # No `connectorUuid`: the server's default model (openai:gpt-test) on the workspace's default.
            response, chunks = await stream_turn(tenant.client, stream_body())
            assert response.status_code == 200, response.text
            assert text_of(chunks) == "from alpha" and usage_of(chunks)["connectorUuid"] == house["uuid"]
            assert llm.requests == [] and provider_a.keys[-1] == provider_a.api_key

            # An agent's release naming the connector: its turns run on it.
            agent = (await tenant.client.post("/v1/ai/agents", json={"name": "Scout"})).json()["agent"]
            draft = await tenant.client.put(
                "/v1/ai/releases/updateDraft",
                json={"agentUuid": agent["uuid"], "connectorUuid": house["uuid"], "languageModelSlug": "gpt-test"},
            )
            assert draft.status_code == 200, draft.text
            assert draft.json()["release"]["connectorUuid"] == house["uuid"]
            assert draft.json()["release"]["integrationSlug"] == "openai"
            body = stream_body(agentUuid=agent["uuid"], chatTrigger={"type": "draft"})
            response, chunks = await stream_turn(tenant.client, body)
            assert response.status_code == 200, response.text
            assert usage_of(chunks)["connectorUuid"] == house["uuid"]


class TestProviders:
    async def test_gemini_and_anthropic_wire_formats(self, allowed: Server, owner: Tenant, provider_a: FakeLLM) -> None:
        provider_a.models = ["gemini-2.5-flash", "claude-test"]
        cases = [
            ("gemini", provider_a.gemini_base_url, "gemini-2.5-flash"),
            ("anthropic", provider_a.anthropic_base_url, "claude-test"),
        ]
        for integration, base_url, model in cases:
            created = await create_connector(
                owner,
                slug=integration,
                integrationSlug=integration,
                config={"apiKey": provider_a.api_key, "baseUrl": base_url},
            )
            assert created.status_code == 200, created.text
            connector = created.json()["connector"]
            listed = await owner.client.get(f"/v1/connection/connectors/{connector['uuid']}/languageModels")
            models = {m["slug"]: m for m in listed.json()["languageModels"]}
            assert set(models) == {"gemini-2.5-flash", "claude-test"}, listed.text
            if integration == "gemini":  # Gemini's own list gives the limits
                assert models[model]["contextWindowTokensLimit"] == 1_048_576
                assert models[model]["outputTokensLimit"] == 65_536
            body = stream_body(connectorUuid=connector["uuid"], languageModelSlug=model)
            response, chunks = await stream_turn(owner.client, body)
            assert response.status_code == 200, response.text
            assert text_of(chunks) == "from alpha", chunks
            assert usage_of(chunks)["inputTokensCount"] == 10 and usage_of(chunks)["outputTokensCount"] == 5
        gemini, anthropic = provider_a.requests[-2], provider_a.requests[-1]
        assert gemini["contents"][-1]["parts"][0]["text"] == "Hello"  # Gemini's generateContent body
        assert anthropic["model"] == "claude-test" and anthropic["messages"][-1]["role"] == "user"


class TestRateLimit:
    async def test_shared_by_two_instances(
        self,
        backend: str,
        make_settings: Callable[..., Settings],
        make_tenant: MakeTenant,
        provider_a: FakeLLM,
    ) -> None:
        settings = make_settings(allow_private_urls=ALLOW)
        async with start_server(settings) as one, start_server(settings) as two:
            tenant = await make_tenant(one)
            # On PostgreSQL + Redis the second instance counts with the first; on SQLite there is one.
            other = two if backend == "postgres" else one
            async with httpx.AsyncClient(base_url=other.base_url, headers=tenant.client.headers) as client:
                day = 86_400_000  # a window that will not turn over during the test
                connector = await connect(tenant, provider_a, rateLimit={"maxRequests": 2, "intervalMs": day})
                body = {"connectorUuid": connector["uuid"], "languageModelSlug": "gpt-test"}
                for http in (tenant.client, client):
                    response, _ = await stream_turn(http, stream_body(**body))
                    assert response.status_code == 200, response.text
                chat = new_uuid()
                response, _ = await stream_turn(client, stream_body(chat, **body))
                assert (response.status_code, response.json()["reason"]) == (429, "rateLimitExceeded")
                assert 1 <= int(response.headers["Retry-After"]) <= 86_400
                assert (await client.get(f"/v1/ai/chats/{chat}")).status_code == 404
                # Other connectors and the server's keys are not limited by it.
                offline, _ = await stream_turn(client, stream_body(integrationSlug="offline"))
                assert offline.status_code == 200
