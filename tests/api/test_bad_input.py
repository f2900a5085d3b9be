"""Bad input: a 400 `{errorMessage}` naming the field, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import Tenant
from ..harness import Server, new_uuid, stream_body

V1_UUID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def bodies() -> list[tuple[dict[str, Any], str]]:
    return [
        ({**stream_body(), "bogus": 1}, "bogus"),
        ({"chatUuid": new_uuid()}, "parts"),
        ({**stream_body(), "parts": []}, "parts"),
        ({**stream_body(), "parts": [{"text": "no type"}]}, "parts"),
        ({**stream_body(), "parts": [{"type": "text"}]}, "parts"),
        ({**stream_body(), "chatUuid": V1_UUID}, "chatUuid"),
        ({**stream_body(), "chatUuid": "nope"}, "chatUuid"),
        ({**stream_body(), "uuid": 42}, "uuid"),
        ({**stream_body(), "temperature": 3}, "temperature"),
        ({**stream_body(), "maxSteps": 0}, "maxSteps"),
        ({**stream_body(), "maxSteps": 1000}, "maxSteps"),
        ({**stream_body(), "chatTrigger": {"type": "fax"}}, "chatTrigger"),
        ({**stream_body(), "languageModelSlug": "gpt-9", "integrationSlug": "openia"}, "openia"),
        ({**stream_body(), "integrationSlug": "offline", "languageModelSlug": "llama"}, "llama"),
        ({**stream_body(), "actions": [{"kind": "tool", "slug": "x"}]}, "action `x`"),
        ({**stream_body(), "actions": [{"kind": "tool", "slug": "bad name!"}]}, "actions.0.tool.slug"),
        ({**stream_body(), "actions": [{"kind": "robot", "slug": "x"}]}, "actions.0"),
        ({**stream_body(), "actions": [{"kind": "tool", "slug": "x", "toolUuid": new_uuid()}]}, "not found"),
        ({**stream_body(), "actions": [{"kind": "agent", "slug": "x", "agentUuid": new_uuid()}]}, "not found"),
        (
            {
                **stream_body(),
                "actions": [{"kind": "connector", "slug": "x", "integrationSlug": "fax", "actionSlug": "a"}],
            },
            "fax",
        ),
        (
            {
                **stream_body(),
                "actions": [{"kind": "connector", "slug": "x", "integrationSlug": "http", "actionSlug": "a"}],
            },
            "no action 'a'",
        ),
        ({**stream_body(), "tools": [], "actions": []}, "actions"),
        ({**stream_body(), "mcpClients": [{"name": "m", "url": "ftp://x"}]}, "mcpClients"),
        ({**stream_body(), "resources": [{"kind": "file"}]}, "resources"),
        ({**stream_body(), "agentUuid": new_uuid()}, "Agent"),
    ]


class TestStreamBody:
    @pytest.mark.parametrize(("body", "named"), bodies())
    async def test_refused_and_nothing_written(
        self, server: Server, tenant: Tenant, body: dict[str, Any], named: str
    ) -> None:
        response = await tenant.client.post("/v1/ai/messages/stream", json=body)
        assert response.status_code in (400, 404), response.text
        error = response.json()
        assert named in error["errorMessage"], error
        assert set(error) <= {"errorMessage", "reason"}
        assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}

    async def test_not_json(self, server: Server, tenant: Tenant) -> None:
        response = await tenant.client.post(
            "/v1/ai/messages/stream", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400 and "JSON" in response.json()["errorMessage"]

    async def test_missing_provider_key(self, make_settings: Any, make_tenant: Any) -> None:
        from ..harness import start_server

        async with start_server(make_settings(anthropic_api_key=None)) as srv:
            tenant = await make_tenant(srv)
            body = {**stream_body(), "integrationSlug": "anthropic"}
            response = await tenant.client.post("/v1/ai/messages/stream", json=body)
            assert response.status_code == 400
            assert response.json() == {
                "errorMessage": "No API key for integration 'anthropic': set CARGOHOLD_ANTHROPIC_API_KEY on the server",
                "reason": "missingProviderKey",
            }
            assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}


class TestOtherRoutes:
    async def test_path_and_body_errors(self, server: Server, tenant: Tenant) -> None:
        cases = [
            ("GET", "/v1/ai/chats/not-a-uuid", None, "uuid"),
            ("GET", f"/v1/ai/messages/{V1_UUID}", None, "uuid"),
            ("GET", "/v1/ai/messages/list", None, "chatUuid"),
            ("POST", "/v1/ai/chats", {}, "trigger"),
            ("POST", "/v1/ai/chats", {"trigger": {"type": "app"}, "title": "x"}, "title"),
            ("PUT", f"/v1/ai/chats/{new_uuid()}", {"name": 5}, "name"),
            ("POST", "/v1/ai/messages/cancel", {"uuids": []}, "uuids"),
            ("POST", "/v1/ai/messages/cancel", {"uuids": ["x"]}, "uuids"),
        ]
        for method, url, body, named in cases:
            response = await tenant.client.request(method, url, json=body)
            assert response.status_code == 400, (url, response.text)
            assert named in response.json()["errorMessage"], (url, response.json())

    async def test_unknown_route_has_the_error_shape(self, server: Server, tenant: Tenant) -> None:
        response = await tenant.client.get("/v1/ai/nothing-here")
        assert response.status_code == 404 and set(response.json()) == {"errorMessage"}
