"""Suggested actions and the prompt helpers over real HTTP: a turn with `suggestedActions` ends with
follow-ups naming only the turn's real actions (in `finish` and on the message); a release's static
ones come back as they are; `generate` is one structured-output call, cached per workspace by
`cacheKey`; the prompt helpers answer through the configured model (here the offline one, whose
answers are deterministic); capabilities that are unknown or not served are refused with a 400."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ..api.test_agent_turns import agent_with
from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import Server, kind, new_uuid, stream_body, stream_turn
from .conftest import new_tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

DEFAULT_MODEL = "offline:offline"
FAKE = {"integrationSlug": "openai", "languageModelSlug": "gpt-test"}


def finish_of(chunks: list[Any]) -> dict[str, Any]:
    [finish] = [c for c in chunks if kind(c) == "finish"]
    return dict(finish["messageMetadata"])


async def generate(tenant: Tenant, **body: Any) -> httpx.Response:
    return await tenant.client.post("/v1/ai/suggestedActions/generate", json=body)


class TestSuggestedActionsInTurns:
    async def test_follow_ups_name_only_the_turns_actions(self, ws: Tenant, caps_llm: FakeLLM) -> None:
        scout = await agent_with(ws, "Scout")
        action = {"kind": "agent", "slug": "ask_scout", "agentUuid": scout["uuid"], "description": "Ask Scout."}
        start = len(caps_llm.requests)
        follow_ups = [
            {"text": "Ask Scout about the lead", "actions": ["ask_scout", "delete_everything"]},
            {"text": "  Ask Scout about the lead ", "actions": []},
            {"text": "Draft an email", "actions": []},
        ]
        caps_llm.script(
            Reply(text="Acme is a good lead."),
            Reply(tool_calls=[ToolCall("suggested_actions", {"suggestions": follow_ups})]),
        )
        body = stream_body(text="Is Acme a good lead?", capabilities=[{"slug": "suggestedActions"}], actions=[action])
        response, chunks = await stream_turn(ws.client, {**body, **FAKE})
        assert response.status_code == 200, response.text
        expected = [
            {"text": "Ask Scout about the lead", "actions": [{"slug": "ask_scout"}]},
            {"text": "Draft an email", "actions": []},
        ]
        assert finish_of(chunks)["suggestedActions"] == expected
        message = (await ws.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["suggestedActions"] == expected
        assert message["usage"]["inputTokensCount"] == 20  # the follow-up call is counted with the turn
        asked = caps_llm.requests[start + 1]
        assert [t["function"]["name"] for t in asked["tools"]] == ["suggested_actions"]
        assert (
            "ask_scout" in asked["messages"][-1]["content"]
            and "Acme is a good lead." in asked["messages"][-1]["content"]
        )

    async def test_a_releases_static_suggestions_come_as_they_are(self, ws: Tenant, caps_llm: FakeLLM) -> None:
        static = [{"text": "Show my pipeline", "actions": [{"slug": "pipeline"}]}]
        agent = await agent_with(ws, "Static", suggestedActions=static, capabilities=[{"slug": "suggestedActions"}])
        start = len(caps_llm.requests)
        caps_llm.script(Reply(text="Hello."))
        _, chunks = await stream_turn(ws.client, stream_body(agentUuid=agent["uuid"]))
        assert finish_of(chunks)["suggestedActions"] == static
        assert len(caps_llm.requests) == start + 1  # no follow-up call


class TestGenerate:
    async def test_cached_per_workspace(
        self, ws: Tenant, caps_server: Server, clients: list[httpx.AsyncClient]
    ) -> None:
        actions = [{"slug": "lookup", "name": "CRM lookup"}]
        response = await generate(ws, cacheKey="chat-1", actions=actions, contextPrompt="Sales")
        assert response.status_code == 200, response.text
        first = response.json()["suggestedActions"]
        assert 1 <= len(first) <= 5 and first[0] == {"text": "Use CRM lookup for this", "actions": [{"slug": "lookup"}]}
        again = await generate(ws, cacheKey="chat-1", actions=[{"slug": "other"}])
        assert again.json()["suggestedActions"] == first

        other = await new_tenant(caps_server, clients)
        theirs = (await generate(other, cacheKey="chat-1", actions=[{"slug": "other"}])).json()["suggestedActions"]
        assert theirs[0]["actions"] == [{"slug": "other"}]
        assert (await generate(other, agentUuid=new_uuid())).json()["reason"] == "agentNotFound"
        assert (await generate(other, messageUuid=new_uuid())).json()["reason"] == "messageNotFound"
        assert (await generate(ws, cacheKey="x", bogus=1)).status_code == 400

    async def test_a_structured_output_call_to_the_agents_model(self, ws: Tenant, caps_llm: FakeLLM) -> None:
        agent = await agent_with(ws, "Closer", systemPrompt="You close deals.")
        caps_llm.script(Reply(text="Deal closed."))
        _, chunks = await stream_turn(ws.client, stream_body(text="Close Acme", agentUuid=agent["uuid"]))
        start = len(caps_llm.requests)
        answer = {"suggestions": [{"text": "Close Globex too", "actions": ["close", "nope"]}]}
        caps_llm.script(Reply(tool_calls=[ToolCall("suggested_actions", answer)]))
        response = await generate(
            ws, agentUuid=agent["uuid"], messageUuid=chunks[0]["messageId"], actions=[{"slug": "close"}]
        )
        assert response.status_code == 200, response.text
        assert response.json()["suggestedActions"] == [{"text": "Close Globex too", "actions": [{"slug": "close"}]}]
        prompt = caps_llm.requests[start]["messages"][-1]["content"]
        assert "Close Acme" in prompt and "Deal closed." in prompt and "You close deals." in prompt


class TestPrompts:
    async def test_helpers_answer_through_the_configured_model(self, ws: Tenant) -> None:
        response = await ws.client.post(
            "/v1/ai/prompts/optimize", json={"prompt": "You help sales reps. Find leads. Be brief."}
        )
        assert response.status_code == 200, response.text
        assert response.json()["prompt"].startswith("# Role\nYou help sales reps.")

        response = await ws.client.post(
            "/v1/ai/prompts/evaluate",
            json={"prompt": "You help sales reps. Use `search_crm` to find leads.", "actions": [{"slug": "lookup"}]},
        )
        assert response.json() == {
            "errorMessage": "The prompt refers to `search_crm`, which the agent does not have (its tools: `lookup`)."
        }
        response = await ws.client.post(
            "/v1/ai/prompts/evaluate",
            json={"prompt": "You help sales reps. Use `lookup` to find leads.", "actions": [{"slug": "lookup"}]},
        )
        assert list(response.json()) == ["prompt"] and "`lookup`" in response.json()["prompt"]

        response = await ws.client.post(
            "/v1/ai/prompts/generateJsonSchema",
            json={"prompt": "Extract the company name, employee count and is_public"},
        )
        schema = response.json()["jsonSchema"]
        assert schema["type"] == "object" and schema["required"] == ["company_name", "employee_count", "is_public"]
        assert schema["properties"]["employee_count"]["type"] == "integer"
        assert (await ws.client.post("/v1/ai/prompts/optimize", json={"prompt": ""})).status_code == 400


class TestCapabilityChecks:
    async def test_unknown_and_not_served_slugs_are_refused(self, ws: Tenant) -> None:
        response, _ = await stream_turn(ws.client, stream_body(capabilities=[{"slug": "telepathy"}]))
        assert response.status_code == 400 and "capabilities" in response.json()["errorMessage"]
        for slug in ("sandbox", "context", "app", "code", "documentationSearch"):
            response, _ = await stream_turn(ws.client, stream_body(capabilities=[{"slug": slug}]))
            assert response.status_code == 400, slug
            assert response.json()["errorMessage"] == f"capability `{slug}` is not served by cargohold yet"
        # An action may not take the name of a capability's tool.
        scout = (await ws.client.post("/v1/ai/agents", json={"name": "Scout"})).json()["agent"]
        action = {"kind": "agent", "slug": "save_memory", "agentUuid": scout["uuid"]}
        response, _ = await stream_turn(ws.client, stream_body(capabilities=[{"slug": "memory"}], actions=[action]))
        assert response.status_code == 400 and "capability `memory`" in response.json()["errorMessage"]
        twice = [{"slug": "memory"}, {"slug": "memory"}]
        response, _ = await stream_turn(ws.client, stream_body(capabilities=twice))
        assert response.status_code == 400
        agent = (await ws.client.post("/v1/ai/agents", json={"name": "A"})).json()["agent"]
        response = await ws.client.put(
            "/v1/ai/releases/updateDraft", json={"agentUuid": agent["uuid"], "capabilities": [{"slug": "code"}]}
        )
        assert response.status_code == 400 and "not served" in response.json()["errorMessage"]
        served = [{"slug": "memory"}, {"slug": "document"}, {"slug": "suggestedActions"}]
        response = await ws.client.put(
            "/v1/ai/releases/updateDraft", json={"agentUuid": agent["uuid"], "capabilities": served}
        )
        assert response.status_code == 200, response.text
        # Nothing was stored by the refused requests.
        assert (await ws.client.get("/v1/ai/chats/list")).json()["chats"] == []
