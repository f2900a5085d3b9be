"""Agents in turns: the deployed (or draft) release's config with the request's fields over it,
sub-agents (usage and credits added, a cycle refused), and the exact stream of a turn that calls a
webhook tool and an MCP tool."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ..conftest import MakeTenant, Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..fakes.mcp_servers import serve_mcp
from ..fakes.webhook import webhook_server
from ..harness import kind, new_uuid, start_server, stream_body, stream_turn

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


async def agent_with(tenant: Tenant, name: str, *, deploy: bool = True, **config: Any) -> dict[str, Any]:
    agent = (await tenant.client.post("/v1/ai/agents", json={"name": name, "description": f"{name} agent"})).json()
    agent = agent["agent"]
    body = {"agentUuid": agent["uuid"], "integrationSlug": "openai", "languageModelSlug": "gpt-test", **config}
    response = await tenant.client.put("/v1/ai/releases/updateDraft", json=body)
    assert response.status_code == 200, response.text
    if deploy:
        response = await tenant.client.post("/v1/ai/releases/deployDraft", json={"agentUuid": agent["uuid"]})
        assert response.status_code == 200, response.text
        agent["release"] = response.json()["release"]
    return agent


def system_of(request: dict[str, Any]) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] in ("system", "developer"))


async def messages_of(tenant: Tenant, chat_uuid: str) -> list[dict[str, Any]]:
    return (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()["messages"]


class TestAgentConfig:
    async def test_deployed_release_with_request_overrides(self, owner: Tenant, llm: FakeLLM) -> None:
        agent = await agent_with(owner, "Scout", systemPrompt="You are Scout.", temperature=0.3, maxSteps=3)
        # A later draft edit does not reach app chats: they run on the deployed release.
        await owner.client.put(
            "/v1/ai/releases/updateDraft", json={"agentUuid": agent["uuid"], "systemPrompt": "Draft Scout."}
        )
        llm.script(Reply(text="Hi from Scout."), Reply(text="Overridden."))
        chat_uuid = new_uuid()
        response, chunks = await stream_turn(owner.client, stream_body(chat_uuid, agentUuid=agent["uuid"]))
        assert response.status_code == 200 and kind(chunks[-1]) == "[DONE]"
        assert system_of(llm.requests[0]) == "You are Scout." and llm.requests[0]["temperature"] == 0.3
        assert llm.requests[0]["model"] == "gpt-test"
        chat = (await owner.client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
        assert chat["agentUuid"] == agent["uuid"] and chat["releaseUuid"] == agent["release"]["uuid"]
        user, assistant = await messages_of(owner, chat_uuid)
        for message in (user, assistant):
            assert message["agentUuid"] == agent["uuid"] and message["releaseUuid"] == agent["release"]["uuid"]
        assert assistant["systemPrompt"] == "You are Scout." and assistant["temperature"] == 0.3
        assert assistant["maxSteps"] == 3 and assistant["languageModelSlug"] == "gpt-test"

        # The same chat keeps its agent; the request's own fields win over the release's.
        body = stream_body(chat_uuid, systemPrompt="Be terse.", temperature=1.1)
        await stream_turn(owner.client, body)
        assert system_of(llm.requests[1]) == "Be terse." and llm.requests[1]["temperature"] == 1.1
        last = (await messages_of(owner, chat_uuid))[-1]
        assert last["agentUuid"] == agent["uuid"] and last["systemPrompt"] == "Be terse." and last["maxSteps"] == 3

    async def test_draft_chat_runs_the_draft(self, owner: Tenant, llm: FakeLLM) -> None:
        agent = await agent_with(owner, "Drafty", deploy=False, systemPrompt="Draft prompt.")
        draft = (await owner.client.get("/v1/ai/releases/draft", params={"agentUuid": agent["uuid"]})).json()
        llm.script(Reply(text="Testing the draft."))
        chat_uuid = new_uuid()
        body = stream_body(chat_uuid, agentUuid=agent["uuid"], chatTrigger={"type": "draft"})
        response, _ = await stream_turn(owner.client, body)
        assert response.status_code == 200 and system_of(llm.requests[0]) == "Draft prompt."
        chat = (await owner.client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
        assert chat["releaseUuid"] == draft["release"]["uuid"] and chat["trigger"] == {"type": "draft"}

        # An app chat needs a deployed release; refused with nothing written.
        response, _ = await stream_turn(owner.client, stream_body(agentUuid=agent["uuid"]))
        assert response.status_code == 404 and response.json()["reason"] == "releaseNotFound"
        assert len((await owner.client.get("/v1/ai/chats/list")).json()["chats"]) == 1

    async def test_create_message_and_chat_with_agent(self, owner: Tenant, llm: FakeLLM) -> None:
        agent = await agent_with(owner, "Poller", systemPrompt="Polled.")
        created = await owner.client.post(
            "/v1/ai/chats", json={"trigger": {"type": "app"}, "agentUuid": agent["uuid"], "name": "With agent"}
        )
        chat = created.json()["chat"]
        assert chat["agentUuid"] == agent["uuid"]
        llm.script(Reply(text="Polled answer."))
        pair = await owner.client.post(
            "/v1/ai/messages", json={"chatUuid": chat["uuid"], "parts": [{"type": "text", "text": "Hi"}]}
        )
        assert pair.status_code == 200 and pair.json()["assistantMessage"]["agentUuid"] == agent["uuid"]
        missing = await owner.client.post("/v1/ai/chats", json={"trigger": {"type": "app"}, "agentUuid": new_uuid()})
        assert missing.status_code == 404 and missing.json()["reason"] == "agentNotFound"
        wrong = await owner.client.post("/v1/ai/chats", json={"trigger": {"type": "app"}, "releaseUuid": new_uuid()})
        assert wrong.status_code == 404 and wrong.json()["reason"] == "releaseNotFound"


class TestSubAgents:
    async def test_sub_agent_answers_and_its_usage_counts(self, owner: Tenant, llm: FakeLLM) -> None:
        child = await agent_with(owner, "Child", systemPrompt="You are Child.")
        action = {"kind": "agent", "slug": "ask_child", "agentUuid": child["uuid"]}
        parent = await agent_with(owner, "Parent", systemPrompt="You are Parent.", actions=[action])
        llm.script(
            Reply(tool_calls=[ToolCall("ask_child", {"prompt": "What is 2+2?"}, id="c1")], input_tokens=100),
            Reply(text="Four, says the child.", input_tokens=40, output_tokens=6),
            Reply(text="The child says four.", input_tokens=150, output_tokens=8),
        )
        _, chunks = await stream_turn(owner.client, stream_body(agentUuid=parent["uuid"]))
        assert system_of(llm.requests[1]) == "You are Child."
        assert llm.requests[1]["messages"][-1] == {"role": "user", "content": "What is 2+2?"}
        (done,) = [c for c in chunks if kind(c) == "tool-output-available"]
        assert done["output"] == {"outcome": "executed", "data": "Four, says the child."}
        message = (await owner.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["evaluatedTools"]["ask_child"] == {
            "kind": "agent",
            "name": "Child",
            "agentUuid": child["uuid"],
            "isBulk": False,
        }
        usage = message["usage"]
        assert usage["requestsCount"] == 3
        assert usage["inputTokensCount"] == 100 + 40 + 150 and usage["outputTokensCount"] == 5 + 6 + 8
        # gpt-test costs 1 (input) and 2 (output) credits per 1k tokens, parent and child alike.
        assert usage["creditsUsedCount"] == pytest.approx((290 * 1 + 19 * 2) / 1000)
        chat = (await owner.client.get(f"/v1/ai/chats/{message['chatUuid']}")).json()["chat"]
        assert chat["creditsUsedCount"] == pytest.approx(usage["creditsUsedCount"])

    async def test_a_cycle_is_refused(self, owner: Tenant, llm: FakeLLM) -> None:
        a = await agent_with(owner, "A", deploy=False)
        b = await agent_with(owner, "B", deploy=False)
        for me, other, slug in ((a, b, "ask_b"), (b, a, "ask_a")):
            action = {"kind": "agent", "slug": slug, "agentUuid": other["uuid"]}
            body = {"agentUuid": me["uuid"], "actions": [action]}
            assert (await owner.client.post("/v1/ai/releases/deployDraft", json=body)).status_code == 200
        llm.script(
            Reply(tool_calls=[ToolCall("ask_b", {"prompt": "Ask A back"}, id="c1")]),  # A
            Reply(tool_calls=[ToolCall("ask_a", {"prompt": "Loop?"}, id="c2")]),  # B, as A's sub-agent
            Reply(text="I may not call A."),  # B
            Reply(text="B could not loop."),  # A
        )
        _, chunks = await stream_turn(owner.client, stream_body(agentUuid=a["uuid"]))
        refused = llm.requests[2]["messages"][-1]
        assert refused["role"] == "tool" and "cycle" in refused["content"]
        (done,) = [c for c in chunks if kind(c) == "tool-output-available"]
        assert done["output"]["data"] == "I may not call A."
        message = (await owner.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["status"] == "success" and message["usage"]["requestsCount"] == 4


class TestExactStream:
    async def test_webhook_and_mcp_tools_in_one_turn(self, owner: Tenant, llm: FakeLLM) -> None:
        async with webhook_server() as hook, serve_mcp() as mcp:
            schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
            created = await owner.client.post(
                "/v1/tools", json={"name": "Lookup", "url": hook.url("/ok"), "inputSchema": schema}
            )
            tool = created.json()["tool"]
            llm.script(
                Reply(
                    tool_calls=[
                        ToolCall("lookup", {"q": "A-17"}, id="call_1"),
                        ToolCall("calc_add", {"a": 2, "b": 3}, id="call_2"),
                    ]
                ),
                Reply(text="Found A-17; 2 + 3 = 5."),
            )
            body = stream_body(
                actions=[{"kind": "tool", "slug": "lookup", "toolUuid": tool["uuid"]}],
                mcpClients=[{"kind": "custom", "name": "calc", "url": mcp.url, "disabledToolSlugs": ["secret_tool"]}],
            )
            response, chunks = await stream_turn(owner.client, body)
        assert response.status_code == 200
        offered = {t["function"]["name"] for t in llm.requests[0]["tools"]}
        assert offered == {"lookup", "calc_add", "calc_slow", "calc_fail"}
        message = (await owner.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        text_id = chunks[-6]["id"]
        assert UUID_RE.match(text_id)
        lookup_out = {"outcome": "executed", "data": {"echo": {"q": "A-17"}, "n": 1}}
        assert chunks == [
            {"type": "start", "messageId": message["uuid"]},
            {"type": "start-step"},
            # Both calls stream their arguments (the fake sends each in two halves), then both are complete.
            {"type": "tool-input-start", "toolCallId": "call_1", "toolName": "lookup"},
            {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": '{"q": '},
            {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": '"A-17"}'},
            {"type": "tool-input-start", "toolCallId": "call_2", "toolName": "calc_add"},
            {"type": "tool-input-delta", "toolCallId": "call_2", "inputTextDelta": '{"a": 2,'},
            {"type": "tool-input-delta", "toolCallId": "call_2", "inputTextDelta": ' "b": 3}'},
            {"type": "tool-input-available", "toolCallId": "call_1", "toolName": "lookup", "input": {"q": "A-17"}},
            {"type": "tool-input-available", "toolCallId": "call_2", "toolName": "calc_add", "input": {"a": 2, "b": 3}},
            {"type": "tool-output-available", "toolCallId": "call_1", "output": lookup_out},
            {"type": "tool-output-available", "toolCallId": "call_2", "output": 5},
            {"type": "finish-step"},
            {"type": "start-step"},
            {"type": "text-start", "id": text_id},
            {"type": "text-delta", "id": text_id, "delta": "Found A-17; 2 "},
            {"type": "text-delta", "id": text_id, "delta": "+ 3 = "},
            {"type": "text-delta", "id": text_id, "delta": "5."},
            {"type": "text-end", "id": text_id},
            {"type": "finish-step"},
            # AI SDK v5 (the default) has no `finishReason` on `finish`: it rides in the metadata.
            {"type": "finish", "messageMetadata": {"usage": message["usage"], "finishReason": "stop"}},
            "[DONE]",
        ]
        assert message["evaluatedTools"] == {
            "lookup": {"kind": "tool", "name": "Lookup", "toolUuid": tool["uuid"], "isBulk": False},
            "calc_add": {"kind": "mcpServer", "name": "calc", "url": mcp.url},
            "calc_slow": {"kind": "mcpServer", "name": "calc", "url": mcp.url},
            "calc_fail": {"kind": "mcpServer", "name": "calc", "url": mcp.url},
        }
        assert [p["type"] for p in message["parts"]] == [
            "step-start",
            "tool-lookup",
            "tool-calc_add",
            "step-start",
            "text",
        ]


class TestBounds:
    async def test_nesting_is_bounded(self, make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM) -> None:
        async with start_server(make_settings(max_agent_depth=1)) as srv:
            tenant = await make_tenant(srv)
            c = await agent_with(tenant, "C")
            b = await agent_with(tenant, "B", actions=[{"kind": "agent", "slug": "ask_c", "agentUuid": c["uuid"]}])
            a = await agent_with(tenant, "A", actions=[{"kind": "agent", "slug": "ask_b", "agentUuid": b["uuid"]}])
            llm.script(
                Reply(tool_calls=[ToolCall("ask_b", {"prompt": "go deeper"}, id="c1")]),  # A
                Reply(tool_calls=[ToolCall("ask_c", {"prompt": "deeper still"}, id="c2")]),  # B
                Reply(text="C is out of reach."),  # B
                Reply(text="Done."),  # A
            )
            _, chunks = await stream_turn(tenant.client, stream_body(agentUuid=a["uuid"]))
            refused = llm.requests[2]["messages"][-1]
            assert refused["role"] == "tool" and "at most 1 deep" in refused["content"]
            assert len(llm.requests) == 4 and kind(chunks[-1]) == "[DONE]"

    async def test_max_steps_holds_with_actions(self, owner: Tenant, llm: FakeLLM) -> None:
        async with webhook_server() as hook:
            created = await owner.client.post("/v1/tools", json={"name": "Ping", "url": hook.url("/ok")})
            action = {"kind": "tool", "slug": "ping", "toolUuid": created.json()["tool"]["uuid"]}
            llm.script(
                Reply(tool_calls=[ToolCall("ping", {}, id="c1")]),
                Reply(tool_calls=[ToolCall("ping", {}, id="c2")]),
                Reply(text="Out of steps; here is what I have."),
            )
            _, chunks = await stream_turn(owner.client, stream_body(actions=[action], maxSteps=3))
        assert len(hook.calls) == 2 and "tools" not in llm.requests[2]  # the last step may only answer
        message = (await owner.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["status"] == "success" and message["meta"]["finishReason"] == "max-steps"

    async def test_unavailable_tools_show_as_parts_and_the_turn_goes_on(self, owner: Tenant, llm: FakeLLM) -> None:
        async with webhook_server() as hook:
            created = await owner.client.post("/v1/tools", json={"name": "Gone", "url": hook.url("/ok")})
            tool = created.json()["tool"]
            agent = await agent_with(
                owner, "Fragile", actions=[{"kind": "tool", "slug": "gone", "toolUuid": tool["uuid"]}]
            )
            await owner.client.delete(f"/v1/tools/{tool['uuid']}")  # after the release was deployed
        dead_mcp = {"name": "dead", "url": "http://127.0.0.1:9/mcp", "timeouts": {"connect": 2}}
        llm.script(Reply(text="Working without them."))
        body = stream_body(agentUuid=agent["uuid"], mcpClients=[dead_mcp])
        _, chunks = await stream_turn(owner.client, body)
        errors = {c["data"]["name"]: c["data"] for c in chunks if kind(c) == "data-tool-error"}
        assert errors["gone"]["kind"] == "action" and "does not exist" in errors["gone"]["errorMessage"]
        assert errors["dead"]["kind"] == "mcpClient" and errors["dead"]["errorMessage"]
        assert "tools" not in llm.requests[0]
        message = (await owner.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["status"] == "success"
        assert [p["type"] for p in message["parts"]].count("data-tool-error") == 2

    async def test_message_never_returns_mcp_secrets(self, owner: Tenant, llm: FakeLLM) -> None:
        async with serve_mcp() as mcp:
            auth = {"issuedAt": "2026-11-23T10:00:00Z", "accessToken": "at-zq9x", "refreshToken": "rt-zq9x"}
            llm.script(Reply(text="Fine."))
            body = stream_body(mcpClients=[{"name": "calc", "url": mcp.url, "authentication": auth}])
            _, chunks = await stream_turn(owner.client, body)
        for path in (f"/v1/ai/messages/{chunks[0]['messageId']}", "/v1/ai/chats/list"):
            response = await owner.client.get(path)
            assert "zq9x" not in response.text
        chat_uuid = body["chatUuid"]
        listed = await owner.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})
        assert "zq9x" not in listed.text
        assert listed.json()["messages"][1]["mcpClients"][0]["authentication"]["accessToken"] == "********"
