"""The `memory` capability over real HTTP, the fake model server driving its tools: a fact saved in
one chat is given to the model in the next; the user's and the agent's memories are kept apart
(and one user's from another's); the same fact saved twice is one memory; a deleted memory is
never given to a model again; the routes answer only for the caller's own memories."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..api.test_agent_turns import agent_with, system_of
from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import Server, kind, new_uuid, stream_body, stream_turn
from .conftest import new_tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

MEMORY = [{"slug": "memory"}]


def outputs(chunks: list[Any]) -> list[Any]:
    return [c["output"] for c in chunks if kind(c) == "tool-output-available"]


async def save(tenant: Tenant, llm: FakeLLM, fact: str, **body: Any) -> dict[str, Any]:
    """One turn in a new chat where the model saves `fact`; the tool's output."""
    llm.script(Reply(tool_calls=[ToolCall("save_memory", {"content": fact})]), Reply(text="Noted."))
    response, chunks = await stream_turn(tenant.client, stream_body(text=f"Remember: {fact}", **body))
    assert response.status_code == 200, response.text
    [output] = outputs(chunks)
    return output


async def instructions_of_next_turn(tenant: Tenant, llm: FakeLLM, text: str, **body: Any) -> str:
    """The instructions the model is given at the start of a turn in a new chat."""
    start = len(llm.requests)
    llm.script(Reply(text="Sure."))
    response, _ = await stream_turn(tenant.client, stream_body(text=text, **body))
    assert response.status_code == 200, response.text
    return system_of(llm.requests[start])


async def listed(tenant: Tenant, **params: str) -> list[dict[str, Any]]:
    response = await tenant.client.get("/v1/ai/memories/list", params=params)
    assert response.status_code == 200, response.text
    return response.json()["memories"]


class TestMemoryTurns:
    async def test_a_fact_saved_in_one_chat_is_given_in_the_next(self, ws: Tenant, caps_llm: FakeLLM) -> None:
        start = len(caps_llm.requests)
        output = await save(ws, caps_llm, "The user's favourite colour is teal", capabilities=MEMORY)
        assert output["outcome"] == "executed" and output["data"]["status"] == "created"
        tools = {t["function"]["name"] for t in caps_llm.requests[start]["tools"]}
        assert {"save_memory", "search_memories"} <= tools

        chat = new_uuid()
        system = await instructions_of_next_turn(
            ws, caps_llm, "Which colour should I paint my office?", capabilities=MEMORY, chatUuid=chat
        )
        assert "The user's favourite colour is teal" in system

        message = (await ws.client.get("/v1/ai/messages/list", params={"chatUuid": chat})).json()["messages"][-1]
        assert message["evaluatedTools"]["save_memory"] == {
            "kind": "capability",
            "name": "save_memory",
            "slug": "memory",
        }
        assert message["evaluatedTools"]["search_memories"]["slug"] == "memory"

        caps_llm.script(
            Reply(tool_calls=[ToolCall("search_memories", {"query": "favourite colour"})]), Reply(text="Teal.")
        )
        _, chunks = await stream_turn(ws.client, stream_body(text="What is my colour?", capabilities=MEMORY))
        [found] = outputs(chunks)
        assert [m["content"] for m in found["data"]["memories"]] == ["The user's favourite colour is teal"]

    async def test_saving_the_same_fact_again_updates_it(self, ws: Tenant, caps_llm: FakeLLM) -> None:
        first = await save(ws, caps_llm, "The user works at Acme.", capabilities=MEMORY)
        again = await save(ws, caps_llm, "the user works at  ACME", capabilities=MEMORY)
        assert again["data"]["status"] == "updated" and again["data"]["mem0Id"] == first["data"]["mem0Id"]
        assert [m["content"] for m in await listed(ws)] == ["the user works at ACME"]

    async def test_scopes_are_kept_apart(
        self, ws: Tenant, caps_llm: FakeLLM, caps_server: Server, clients: list[httpx.AsyncClient]
    ) -> None:
        agent = await agent_with(ws, "Keeper", capabilities=[{"slug": "memory", "config": {"scope": "agent"}}])
        await save(ws, caps_llm, "Our fiscal year starts in April", agentUuid=agent["uuid"])
        await save(ws, caps_llm, "The user is vegetarian", capabilities=MEMORY)

        assert [m["content"] for m in await listed(ws)] == ["The user is vegetarian"]
        by_agent = await listed(ws, scope="agent", agentUuid=agent["uuid"])
        assert [(m["content"], m["scope"], m["agentUuid"]) for m in by_agent] == [
            ("Our fiscal year starts in April", "agent", agent["uuid"])
        ]
        system = await instructions_of_next_turn(
            ws, caps_llm, "When does the fiscal year start?", agentUuid=agent["uuid"]
        )
        assert "fiscal year starts in April" in system and "vegetarian" not in system

        # Another user of the same workspace: the agent's memories are shared, the user's are not.
        colleague = await new_tenant(caps_server, clients, ws.workspace_uuid)
        assert await listed(colleague) == []
        system = await instructions_of_next_turn(colleague, caps_llm, "What do I eat?", capabilities=MEMORY)
        assert "vegetarian" not in system
        assert len(await listed(colleague, scope="agent", agentUuid=agent["uuid"])) == 1
        mine = (await listed(ws))[0]["mem0Id"]
        response = await colleague.client.delete(f"/v1/ai/memories/{mine}")
        assert response.status_code == 404 and response.json()["reason"] == "memoryNotFound"

    async def test_a_deleted_memory_is_never_given_again(self, ws: Tenant, caps_llm: FakeLLM) -> None:
        await save(ws, caps_llm, "The user's dog is called Rex", capabilities=MEMORY)
        [memory] = await listed(ws)
        response = await ws.client.put(f"/v1/ai/memories/{memory['mem0Id']}", json={"content": "The user's dog is Max"})
        assert response.status_code == 200, response.text
        system = await instructions_of_next_turn(ws, caps_llm, "What is my dog's name?", capabilities=MEMORY)
        assert "The user's dog is Max" in system and "Rex" not in system

        response = await ws.client.delete(f"/v1/ai/memories/{memory['mem0Id']}")
        assert response.status_code == 200, response.text
        assert await listed(ws) == []
        system = await instructions_of_next_turn(ws, caps_llm, "What is my dog's name?", capabilities=MEMORY)
        assert "Max" not in system
        caps_llm.script(Reply(tool_calls=[ToolCall("search_memories", {"query": "dog"})]), Reply(text="No idea."))
        _, chunks = await stream_turn(ws.client, stream_body(text="dog?", capabilities=MEMORY))
        assert outputs(chunks)[0]["data"]["memories"] == []
        response = await ws.client.delete(f"/v1/ai/memories/{memory['mem0Id']}")
        assert response.status_code == 404 and response.json()["reason"] == "memoryNotFound"


class TestMemoryRoutes:
    async def test_workspaces_are_kept_apart(
        self, ws: Tenant, caps_llm: FakeLLM, caps_server: Server, clients: list[httpx.AsyncClient]
    ) -> None:
        agent = await agent_with(ws, "Owner", capabilities=[{"slug": "memory", "config": {"scope": "agent"}}])
        await save(ws, caps_llm, "Renewals are due in June", agentUuid=agent["uuid"])
        [memory] = await listed(ws, scope="agent", agentUuid=agent["uuid"])
        other = await new_tenant(caps_server, clients)
        response = await other.client.get("/v1/ai/memories/list", params={"scope": "agent", "agentUuid": agent["uuid"]})
        assert response.status_code == 404 and response.json()["reason"] == "agentNotFound"
        for call in (
            other.client.put(f"/v1/ai/memories/{memory['mem0Id']}", json={"content": "x"}),
            other.client.delete(f"/v1/ai/memories/{memory['mem0Id']}"),
            other.client.put(
                f"/v1/ai/memories/{memory['mem0Id']}",
                json={"content": "x", "scope": "agent", "agentUuid": agent["uuid"]},
            ),
        ):
            response = await call
            assert response.status_code == 404, response.text
        assert (await listed(ws, scope="agent", agentUuid=agent["uuid"]))[0]["content"] == "Renewals are due in June"

    async def test_bad_input(self, ws: Tenant) -> None:
        response = await ws.client.get("/v1/ai/memories/list", params={"scope": "agent"})
        assert response.status_code == 400 and "agentUuid" in response.json()["errorMessage"]
        response = await ws.client.get("/v1/ai/memories/list", params={"scope": "workspace"})
        assert response.status_code == 400
        response = await ws.client.put(f"/v1/ai/memories/{new_uuid()}", json={"content": ""})
        assert response.status_code == 400
        response = await ws.client.put(f"/v1/ai/memories/{new_uuid()}", json={"content": "x", "extra": 1})
        assert response.status_code == 400 and "extra" in response.json()["errorMessage"]
        response = await ws.client.put(f"/v1/ai/memories/{new_uuid()}", json={"content": "x"})
        assert response.status_code == 404 and response.json()["reason"] == "memoryNotFound"
        body = stream_body(capabilities=[{"slug": "memory", "config": {"scope": "team"}}])
        response, _ = await stream_turn(ws.client, body)
        assert response.status_code == 400 and "scope" in response.json()["errorMessage"]
