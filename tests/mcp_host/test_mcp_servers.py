"""Hosted MCP servers, used as an outside MCP client would: the official `mcp` Python client over
streamable HTTP against a real `cargohold` server. Tools are the workspace's actions (a webhook on
127.0.0.1, an agent on the fake model server) and a model resource; calls run as in a turn and are
recorded with their credits; other workspaces, bad tokens and deleted servers get nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import pytest
import sqlalchemy as sa
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from cargohold.db.tables import McpServer

from ..api.test_agent_turns import agent_with
from ..conftest import MakeTenant, Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..fakes.webhook import Webhook, webhook_server
from ..harness import Server
from ..storage.helpers import create_model, create_records

LOOKUP_SCHEMA = {
    "type": "object",
    "properties": {"q": {"type": "string"}, "region": {"type": "string", "enum": ["eu", "us"]}},
    "required": ["q", "region"],
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
async def hook() -> AsyncIterator[Webhook]:
    async with webhook_server() as server:
        yield server


@asynccontextmanager
async def mcp_client(srv: Server, tenant: Tenant, server: dict[str, Any]) -> AsyncIterator[ClientSession]:
    """The official MCP client, as any outside client would connect: the url and a bearer token."""
    headers = {"Authorization": tenant.client.headers["Authorization"]}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(srv.base_url + server["url"], http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


async def create_tool(tenant: Tenant, url: str) -> dict[str, Any]:
    body = {"name": "Lookup", "description": "Look a thing up", "url": url, "inputSchema": LOOKUP_SCHEMA}
    response = await tenant.client.post("/v1/tools", json=body)
    assert response.status_code == 200, response.text
    return response.json()["tool"]


async def create_server(tenant: Tenant, **body: Any) -> dict[str, Any]:
    response = await tenant.client.post("/v1/ai/mcpServers", json={"name": "Ops", **body})
    assert response.status_code == 200, response.text
    return response.json()["mcpServer"]


async def calls_of(tenant: Tenant, server: dict[str, Any]) -> list[dict[str, Any]]:
    response = await tenant.client.get(f"/v1/ai/mcpServers/{server['uuid']}/calls")
    assert response.status_code == 200, response.text
    return response.json()["calls"]


class TestHostedMcpServers:
    async def test_an_outside_client_lists_calls_and_sees_changes(
        self, allowed: Server, owner: Tenant, make_tenant: MakeTenant, hook: Webhook
    ) -> None:
        tool = await create_tool(owner, hook.url("/ok"))
        action = {"kind": "tool", "slug": "lookup", "toolUuid": tool["uuid"], "config": {"region": "eu"}}
        server = await create_server(owner, description="Ops tools", actions=[action])
        assert server["url"] == f"/v1/ai/mcpServers/{server['uuid']}/mcp"
        assert server["actions"] == server["tools"] and server["actions"][0]["slug"] == "lookup"
        assert server["isReadOnly"] is False and server["workspaceUuid"] == str(owner.workspace_uuid)
        assert (await owner.client.get(f"/v1/ai/mcpServers/{server['uuid']}")).json() == {"mcpServer": server}
        assert (await owner.client.get("/v1/ai/mcpServers/list")).json() == {"mcpServers": [server]}

        async with mcp_client(allowed, owner, server) as mcp:
            listed = (await mcp.list_tools()).tools
            assert [t.name for t in listed] == ["lookup"]
            # The JSON Schema a client sees: the pinned `region` is hidden, as from a model.
            assert listed[0].description == "Look a thing up"
            schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
            assert listed[0].input_schema == schema

            result = await mcp.call_tool("lookup", {"q": "A-17"})
            assert result.is_error is False
            expected = {"outcome": "executed", "data": {"echo": {"q": "A-17", "region": "eu"}, "n": 1}}
            assert result.structured_content == expected
            # The webhook was called as in a turn (signed, pinned config merged), told the server and call.
            context = hook.calls[0].json["context"]
            assert context["mcpServerUuid"] == server["uuid"] and context["workspaceUuid"] == str(owner.workspace_uuid)
            assert ",v1=" in hook.calls[0].headers["x-cargohold-signature"] and "chatUuid" not in context

            bad = await mcp.call_tool("lookup_everything", {"q": "x"})
            assert bad.is_error is True
            assert bad.content[0].text == "unknown tool 'lookup_everything': this server offers lookup"
            assert len(hook.calls) == 1

        calls = await calls_of(owner, server)
        assert [(c["toolName"], c["status"]) for c in calls] == [
            ("lookup_everything", "failed"),
            ("lookup", "executed"),
        ]
        assert calls[1]["creditsUsedCount"] == 0 and calls[0]["errorMessage"].startswith("unknown tool")

        # An update shows on the next list.
        second = {"kind": "tool", "slug": "lookup_us", "toolUuid": tool["uuid"], "config": {"region": "us"}}
        response = await owner.client.put(
            f"/v1/ai/mcpServers/{server['uuid']}", json={"name": "Ops 2", "actions": [action, second]}
        )
        assert response.status_code == 200 and response.json()["mcpServer"]["name"] == "Ops 2"
        async with mcp_client(allowed, owner, server) as mcp:
            assert sorted(t.name for t in (await mcp.list_tools()).tools) == ["lookup", "lookup_us"]
            result = await mcp.call_tool("lookup_us", {"q": "B"})
            assert result.structured_content["data"]["echo"] == {"q": "B", "region": "us"}

        # Another workspace's token, a bad token, no token: nothing of this server.
        intruder = await make_tenant(allowed, "intruder")
        endpoint = allowed.base_url + server["url"]
        async with httpx.AsyncClient(timeout=30) as raw:
            for headers, status in [
                ({"Authorization": intruder.client.headers["Authorization"]}, 404),
                ({"Authorization": "Bearer chk_not-a-token"}, 401),
                ({}, 401),
            ]:
                response = await raw.post(endpoint, json=INITIALIZE, headers={**MCP_HEADERS, **headers})
                assert response.status_code == status, response.text
                assert "lookup" not in response.text
            assert response.json()["errorMessage"] and response.headers["www-authenticate"] == "Bearer"
            as_intruder = {**MCP_HEADERS, "Authorization": intruder.client.headers["Authorization"]}
            response = await raw.post(endpoint, json=INITIALIZE, headers=as_intruder)
            assert response.json()["reason"] == "mcpServerNotFound"
        for method, body in [("GET", None), ("PUT", {"name": "mine"}), ("DELETE", None)]:
            response = await intruder.client.request(method, f"/v1/ai/mcpServers/{server['uuid']}", json=body)
            assert response.status_code == 404 and response.json()["reason"] == "mcpServerNotFound"
        assert (await intruder.client.get("/v1/ai/mcpServers/list")).json() == {"mcpServers": []}
        assert (await intruder.client.get(f"/v1/ai/mcpServers/{server['uuid']}/calls")).status_code == 404

        # A read-only server (made from a template) cannot be changed or deleted.
        async with allowed.state.sessions() as session, session.begin():
            await session.execute(sa.update(McpServer).values(is_read_only=True))
        for method, body in [("PUT", {"name": "x"}), ("DELETE", None)]:
            response = await owner.client.request(method, f"/v1/ai/mcpServers/{server['uuid']}", json=body)
            assert response.status_code == 409 and response.json()["reason"] == "mcpServerIsReadOnly"
        async with allowed.state.sessions() as session, session.begin():
            await session.execute(sa.update(McpServer).values(is_read_only=False))

        # Deleted: gone from the API and from MCP.
        assert (await owner.client.delete(f"/v1/ai/mcpServers/{server['uuid']}")).status_code == 200
        assert (await owner.client.get(f"/v1/ai/mcpServers/{server['uuid']}")).json()["reason"] == "mcpServerNotFound"
        assert (await owner.client.get("/v1/ai/mcpServers/list")).json() == {"mcpServers": []}
        async with httpx.AsyncClient(timeout=30) as raw:
            as_owner = {**MCP_HEADERS, "Authorization": owner.client.headers["Authorization"]}
            response = await raw.post(endpoint, json=INITIALIZE, headers=as_owner)
            assert response.status_code == 404 and response.json()["reason"] == "mcpServerNotFound"

    async def test_bad_input_writes_nothing(self, owner: Tenant, make_tenant: MakeTenant, allowed: Server) -> None:
        intruder = await make_tenant(allowed, "intruder")
        foreign = await create_tool(intruder, "http://127.0.0.1:9/hook")
        for body, words in [
            ({"actions": []}, "`name` is required"),
            ({"name": "x", "nope": 1}, "Unknown field `nope`"),
            ({"name": "x", "actions": [{"kind": "tool", "slug": "a", "toolUuid": foreign["uuid"]}]}, "not found"),
            ({"name": "x", "actions": [{"kind": "tool", "slug": "bad slug!"}]}, "slug"),
            ({"name": "x", "resources": [{"kind": "model", "slug": "r", "modelUuid": foreign["uuid"]}]}, "resource"),
            ({"name": "x", "actions": [], "tools": []}, "not both"),
        ]:
            response = await owner.client.post("/v1/ai/mcpServers", json=body)
            assert response.status_code == 400, (body, response.text)
            assert words in response.json()["errorMessage"], (words, response.text)
        assert (await owner.client.get("/v1/ai/mcpServers/list")).json() == {"mcpServers": []}
        response = await owner.client.put(f"/v1/ai/mcpServers/{foreign['uuid']}", json={"name": "x"})
        assert response.status_code == 404 and response.json()["reason"] == "mcpServerNotFound"

    async def test_agent_action_credits_and_a_model_resource(
        self, allowed: Server, owner: Tenant, llm: FakeLLM
    ) -> None:
        scout = await agent_with(owner, "Scout", systemPrompt="You are Scout.")
        model = await create_model(owner)
        await create_records(owner, model, [{"_id": "o1", "name": "Ada", "amount": 30, "paid": True}])
        resource = {"kind": "model", "slug": "orders", "modelUuid": model["uuid"], "selectedColumnSlugs": ["name"]}
        server = await create_server(
            owner,
            actions=[{"kind": "agent", "slug": "ask_scout", "agentUuid": scout["uuid"]}],
            resources=[resource],
        )
        llm.script(Reply(text="Scout says hi."))
        async with mcp_client(allowed, owner, server) as mcp:
            tools = {t.name: t for t in (await mcp.list_tools()).tools}
            assert sorted(tools) == ["ask_scout", "orders"]
            assert tools["ask_scout"].input_schema["required"] == ["prompt"]
            assert tools["orders"].input_schema["required"] == ["sql"]

            answer = await mcp.call_tool("ask_scout", {"prompt": "Say hi"})
            assert answer.structured_content == {"outcome": "executed", "data": "Scout says hi."}
            rows = await mcp.call_tool("orders", {"sql": "SELECT name FROM orders"})
            assert rows.structured_content == {
                "outcome": "executed",
                "data": {"rows": [{"name": "Ada"}], "truncated": False},
            }
            refused = await mcp.call_tool("orders", {"sql": "DELETE FROM orders"})
            assert refused.is_error is True and "refused" in refused.content[0].text
        assert len(llm.requests) == 1 and llm.requests[0]["messages"][-1]["content"] == "Say hi"

        calls = await calls_of(owner, server)
        by_tool = {c["toolName"]: c for c in reversed(calls)}
        agent_call = by_tool["ask_scout"]
        assert agent_call["status"] == "executed" and agent_call["creditsUsedCount"] > 0
        assert agent_call["usage"]["creditsUsedCount"] == agent_call["creditsUsedCount"]
        assert agent_call["usage"]["inputTokensCount"] > 0
        assert [c["status"] for c in calls] == ["failed", "executed", "executed"]
