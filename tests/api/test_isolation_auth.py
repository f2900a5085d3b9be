"""Auth on every /v1 route, and workspace isolation: another workspace's uuid is a 404 everywhere."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..conftest import MakeTenant, Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, new_uuid, stream_body, stream_turn


def routes(chat: str, message: str, user_message: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", f"/v1/ai/chats/{chat}", None),
        ("PUT", f"/v1/ai/chats/{chat}", {"name": "mine now"}),
        ("DELETE", f"/v1/ai/chats/{chat}", None),
        ("GET", f"/v1/ai/chats/{chat}/stream", None),
        ("GET", f"/v1/ai/messages/stream/{chat}/stream", None),
        ("GET", f"/v1/ai/messages/list?chatUuid={chat}", None),
        ("GET", f"/v1/ai/messages/{message}", None),
        ("DELETE", f"/v1/ai/messages/{user_message}", None),
        ("POST", "/v1/ai/messages", {"chatUuid": chat, "parts": [{"type": "text", "text": "x"}]}),
        ("POST", "/v1/ai/messages/stream", stream_body(chat)),
    ]


class TestIsolation:
    async def test_other_workspace_gets_404_everywhere(
        self, server: Server, tenant: Tenant, make_tenant: MakeTenant, llm: FakeLLM
    ) -> None:
        llm.script(Reply(text="private"))
        chat = new_uuid()
        user_message = new_uuid()
        _, chunks = await stream_turn(tenant.client, stream_body(chat, "secret", uuid=user_message))
        message = chunks[0]["messageId"]
        intruder = await make_tenant(server, "intruder")
        for method, url, body in routes(chat, message, user_message):
            response = await intruder.client.request(method, url, json=body)
            assert response.status_code == 404, (method, url, response.text)
            assert response.json()["reason"] in ("chatNotFound", "messageNotFound"), (method, url)
        assert (await intruder.client.get("/v1/ai/chats/list")).json() == {"chats": []}
        # Cancel skips what the caller cannot see, and the owner's data is untouched.
        await intruder.client.post("/v1/ai/messages/cancel", json={"uuids": [message]})
        own = (await tenant.client.get(f"/v1/ai/chats/{chat}")).json()["chat"]
        assert own["name"] is None and own["deletedAt"] is None
        listed = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat})).json()["messages"]
        assert len(listed) == 2 and listed[1]["status"] == "success"


class TestAuth:
    @pytest.mark.parametrize("header", [None, "Bearer", "Bearer nope", "Basic dXNlcjpwYXNz", "chk_raw"])
    async def test_every_route_needs_a_valid_token(self, server: Server, header: str | None) -> None:
        headers = {"Authorization": header} if header else {}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers) as client:
            for method, url, body in [
                *routes(new_uuid(), new_uuid(), new_uuid()),
                ("GET", "/v1/ai/chats/list", None),
                ("POST", "/v1/ai/chats", {"trigger": {"type": "app"}}),
                ("POST", "/v1/ai/messages/cancel", {"uuids": [new_uuid()]}),
            ]:
                response = await client.request(method, url, json=body)
                assert response.status_code == 401, (method, url)
                assert set(response.json()) == {"errorMessage"}

    async def test_every_documented_route_needs_a_token(self, server: Server) -> None:
        """Every operation of the OpenAPI document, whatever was added since this test was written."""
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            spec = (await client.get("/openapi.json")).json()
            operations = [(m.upper(), p) for p, item in spec["paths"].items() for m in item if p.startswith("/v1/")]
            assert len(operations) > 30
            for method, path in operations:
                url = path
                while "{" in url:
                    start, end = url.index("{"), url.index("}")
                    url = url[:start] + new_uuid() + url[end + 1 :]
                response = await client.request(method, url, json={} if method in ("POST", "PUT") else None)
                assert response.status_code == 401, (method, path, response.text)
                assert set(response.json()) == {"errorMessage"}

    async def test_tokens_are_stored_hashed(self, server: Server, tenant: Tenant) -> None:
        import sqlalchemy as sa

        from cargohold.db.tables import ApiToken

        token = tenant.client.headers["Authorization"].removeprefix("Bearer ")
        async with server.state.sessions() as session:
            stored = (await session.execute(sa.select(ApiToken.token_hash, ApiToken.prefix))).all()
        assert all(token not in (row.token_hash, row.prefix) for row in stored)
        assert all(len(row.token_hash) == 64 for row in stored)
