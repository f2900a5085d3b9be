"""POST /v1/ai/messages/stream, end to end over HTTP, with the real OpenAI provider client talking
to a fake OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic_ai import Tool

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import (
    Server,
    StreamReader,
    kind,
    new_uuid,
    read_stream,
    stream_body,
    stream_turn,
    text_of,
    wait_until,
)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
URL = "/v1/ai/messages/stream"
HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "connection": "keep-alive",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}


def lookup_order(order_id: str) -> dict[str, Any]:
    """Look up an order by its id."""
    return {"orderId": order_id, "status": "shipped"}


@pytest.fixture
def order_tool(server: Server) -> Tool:
    tool = Tool(lookup_order)
    server.state.tools.register(tool)
    return tool


class TestTwoStepToolTurn:
    async def test_exact_chunks_parts_usage_and_credits(
        self, server: Server, tenant: Tenant, llm: FakeLLM, order_tool: Tool
    ) -> None:
        llm.script(
            Reply(
                tool_calls=[ToolCall("lookup_order", {"order_id": "A-17"}, id="call_1")],
                input_tokens=100,
                output_tokens=20,
            ),
            Reply(text="Order A-17 has shipped.", input_tokens=150, output_tokens=10),
        )
        chat_uuid, user_uuid = new_uuid(), new_uuid()
        body = stream_body(
            chat_uuid, "Where is order A-17?", uuid=user_uuid, systemPrompt="Be brief.", chatTrigger={"type": "app"}
        )
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=body) as response:
            assert response.status_code == 200
            for name, value in HEADERS.items():
                assert response.headers[name] == value
            assert "content-encoding" not in response.headers
            chunks = await read_stream(response)

        messages = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()
        user, assistant = messages["messages"]
        assert user["uuid"] == user_uuid and user["type"] == "user" and user["status"] == "success"
        text_id = chunks[9]["id"]
        assert UUID_RE.match(text_id)
        # The whole stream, chunk by chunk: the fake sends the tool arguments in two halves and the
        # text three words at a time; pydantic-ai's encoder passes each delta through as it comes.
        assert chunks == [
            {"type": "start", "messageId": assistant["uuid"]},
            {"type": "start-step"},
            {"type": "tool-input-start", "toolCallId": "call_1", "toolName": "lookup_order"},
            {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": '{"order_id'},
            {"type": "tool-input-delta", "toolCallId": "call_1", "inputTextDelta": '": "A-17"}'},
            {
                "type": "tool-input-available",
                "toolCallId": "call_1",
                "toolName": "lookup_order",
                "input": {"order_id": "A-17"},
            },
            {
                "type": "tool-output-available",
                "toolCallId": "call_1",
                "output": {"orderId": "A-17", "status": "shipped"},
            },
            {"type": "finish-step"},
            {"type": "start-step"},
            {"type": "text-start", "id": text_id},
            {"type": "text-delta", "delta": "Order A-17 has ", "id": text_id},
            {"type": "text-delta", "delta": "shipped.", "id": text_id},
            {"type": "text-end", "id": text_id},
            {"type": "finish-step"},
            {"type": "finish", "messageMetadata": {"usage": assistant["usage"], "finishReason": "stop"}},
            "[DONE]",
        ]

        assert assistant["status"] == "success" and assistant["errorMessage"] is None
        assert assistant["finishedAt"] is not None
        assert assistant["parts"] == [
            {"type": "step-start"},
            {
                "type": "tool-lookup_order",
                "toolCallId": "call_1",
                "state": "output-available",
                "input": {"order_id": "A-17"},
                "output": {"orderId": "A-17", "status": "shipped"},
            },
            {"type": "step-start"},
            {"type": "text", "text": "Order A-17 has shipped.", "state": "done"},
        ]
        usage = assistant["usage"]
        assert usage["inputTokensCount"] == 250 and usage["outputTokensCount"] == 30
        assert usage["tokensUsedCount"] == 280 and usage["requestsCount"] == 2
        assert usage["languageModelSlug"] == "gpt-test"
        # gpt-test costs 1 credit per 1k input tokens and 2 per 1k output tokens (tests' price table).
        assert usage["creditsUsedCount"] == pytest.approx(250 / 1000 + 30 * 2 / 1000)
        chat = (await tenant.client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
        assert chat["creditsUsedCount"] == pytest.approx(usage["creditsUsedCount"])
        assert chat["activeStreamUuid"] is None
        assert chat["trigger"] == {"type": "app"}
        assert chat["lastMessage"]["uuid"] == assistant["uuid"]

        # The provider saw the system prompt, the tool, then the tool's result.
        first, second = llm.requests
        assert first["messages"][0] == {"role": "system", "content": "Be brief."}
        assert [t["function"]["name"] for t in first["tools"]] == ["lookup_order"]
        tool_message = second["messages"][-1]
        assert tool_message["role"] == "tool" and tool_message["tool_call_id"] == "call_1"

    async def test_next_turn_gets_the_history(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="Hi Ada."), Reply(text="Your name is Ada."))
        chat_uuid = new_uuid()
        await stream_turn(tenant.client, stream_body(chat_uuid, "I am Ada."))
        _, chunks = await stream_turn(tenant.client, stream_body(chat_uuid, "What is my name?"))
        assert text_of(chunks) == "Your name is Ada."
        sent = [(m["role"], m["content"]) for m in llm.requests[1]["messages"]]
        assert sent == [("user", "I am Ada."), ("assistant", "Hi Ada."), ("user", "What is my name?")]
        chat = (await tenant.client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
        messages = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()
        assert [m["type"] for m in messages["messages"]] == ["user", "assistant", "user", "assistant"]
        assert chat["creditsUsedCount"] == pytest.approx(
            sum(m["usage"]["creditsUsedCount"] for m in messages["messages"] if m["usage"])
        )

    async def test_request_fields_reach_the_model(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="ok"))
        body = stream_body(
            text="hi",
            systemPrompt="You are terse.",
            contextPrompt="The user is on the pricing page.",
            temperature=0.3,
            languageModelSlug="gpt-4o-mini",
            integrationSlug="openai",
        )
        response, chunks = await stream_turn(tenant.client, body)
        assert response.status_code == 200 and chunks[-1] == "[DONE]"
        request = llm.requests[0]
        assert request["model"] == "gpt-4o-mini"
        assert request["temperature"] == 0.3
        assert request["messages"][0]["content"] == "You are terse.\n\nThe user is on the pricing page."
        message = (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["systemPrompt"] == "You are terse." and message["temperature"] == 0.3
        assert message["languageModelSlug"] == "gpt-4o-mini" and message["integrationSlug"] == "openai"


class TestMaxSteps:
    async def test_last_step_answers_without_tools(
        self, server: Server, tenant: Tenant, llm: FakeLLM, order_tool: Tool
    ) -> None:
        llm.script(
            Reply(tool_calls=[ToolCall("lookup_order", {"order_id": "1"}, id="call_a")]),
            Reply(text="Here is what I found."),
        )
        _, chunks = await stream_turn(tenant.client, stream_body(text="check order 1", maxSteps=2))
        assert "tools" in llm.requests[0]
        assert not llm.requests[1].get("tools")  # the bound step offers no tools
        finish = next(c for c in chunks if isinstance(c, dict) and c["type"] == "finish")
        assert finish["messageMetadata"]["finishReason"] == "max-steps"
        assert "finishReason" not in finish  # AI SDK 5 clients reject it
        message = (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["status"] == "success" and message["meta"]["finishReason"] == "max-steps"
        assert message["parts"][-1] == {"type": "text", "text": "Here is what I found.", "state": "done"}


class TestProviders:
    async def test_anthropic(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="Bonjour from Claude.", input_tokens=12, output_tokens=4))
        body = stream_body(text="hi", integrationSlug="anthropic", languageModelSlug="claude-test")
        _, chunks = await stream_turn(tenant.client, body)
        assert text_of(chunks) == "Bonjour from Claude."
        message = (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["usage"]["inputTokensCount"] == 12 and message["usage"]["outputTokensCount"] == 4
        assert message["integrationSlug"] == "anthropic"

    async def test_offline_model_runs_a_tool_turn(self, make_settings: Any, make_tenant: Any) -> None:
        from ..harness import start_server

        settings = make_settings(
            openai_api_key=None,
            openai_base_url=None,
            anthropic_api_key=None,
            default_model=None,
            builtin_tools=["calculate", "current_time"],
        )
        async with start_server(settings) as srv:
            tenant = await make_tenant(srv)
            _, chunks = await stream_turn(tenant.client, stream_body(text="Please calculate 6 * 7"))
        types = [c["type"] for c in chunks if isinstance(c, dict)]
        assert types.count("start-step") == 2
        output = next(c for c in chunks if isinstance(c, dict) and c["type"] == "tool-output-available")
        assert output["output"]["result"] == 42
        assert "42" in text_of(chunks)

    async def test_provider_error_is_stored_and_chat_stays_usable(
        self, server: Server, tenant: Tenant, llm: FakeLLM
    ) -> None:
        llm.script(Reply(status=500), Reply(text="Back again."))
        chat_uuid = new_uuid()
        _, chunks = await stream_turn(tenant.client, stream_body(chat_uuid, "hi"))
        kinds = [kind(c) for c in chunks]
        assert kinds[0] == "start" and "error" in kinds and kinds[-2:] == ["finish", "[DONE]"]
        message = (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["status"] == "error" and "500" in message["errorMessage"]
        assert message["usage"] is not None
        _, chunks = await stream_turn(tenant.client, stream_body(chat_uuid, "again"))
        assert text_of(chunks) == "Back again."


class TestKeepAlive:
    async def test_quiet_stream_gets_comments(self, make_settings: Any, make_tenant: Any, llm: FakeLLM) -> None:
        from ..harness import start_server

        async with start_server(make_settings(keepalive_seconds=0.05)) as srv:
            tenant = await make_tenant(srv)
            llm.script(Reply(text="slow but sure", delay=0.3))
            async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body()) as response:
                raw = "".join([t async for t in response.aiter_text()])
        assert ": keep-alive\n\n" in raw
        assert raw.rstrip().endswith("data: [DONE]")


class TestSdkVersions:
    @pytest.mark.parametrize("version", [6, 7])
    async def test_finish_reason_only_for_v6_plus(
        self, make_settings: Any, make_tenant: Any, llm: FakeLLM, version: int
    ) -> None:
        from ..harness import start_server

        async with start_server(make_settings(ai_sdk_version=version)) as srv:
            tenant = await make_tenant(srv)
            llm.script(Reply(text="ok"))
            _, chunks = await stream_turn(tenant.client, stream_body())
        finish = next(c for c in chunks if isinstance(c, dict) and c["type"] == "finish")
        assert finish["finishReason"] == "stop"


class TestAiSdkRequest:
    async def test_use_chat_body_is_accepted(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="hello useChat"))
        chat_uuid, message_uuid = new_uuid(), new_uuid()
        body = {
            "id": chat_uuid,
            "trigger": "submit-message",
            "messageId": None,
            "messages": [{"id": message_uuid, "role": "user", "parts": [{"type": "text", "text": "hey"}]}],
        }
        _, chunks = await stream_turn(tenant.client, body)
        assert chunks[-1] == "[DONE]"
        listed = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()
        assert listed["messages"][0]["uuid"] == message_uuid
        assert listed["messages"][1]["parts"][-1]["text"] == "hello useChat"


class TestConflicts:
    async def test_unfinished_last_message_and_reused_uuid(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="never finishes", hang=True))
        chat_uuid, user_uuid = new_uuid(), new_uuid()
        async with tenant.client.stream(
            "POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid, uuid=user_uuid)
        ) as response:
            lines = response.aiter_lines()
            first = await asyncio.wait_for(anext(lines), timeout=10)
            assert first.startswith("id: ")
            again = await tenant.client.post("/v1/ai/messages/stream", json=stream_body(chat_uuid))
            assert again.status_code == 409
            assert again.json()["reason"] == "lastMessageNotFinished"
            reused = await tenant.client.post("/v1/ai/messages/stream", json=stream_body(new_uuid(), uuid=user_uuid))
            assert reused.status_code == 409
            assert reused.json()["reason"] == "messageAlreadyExists"
            listed = (await tenant.client.get("/v1/ai/chats/list")).json()["chats"]
            assert [c["uuid"] for c in listed] == [chat_uuid]
            assistant = listed[0]["lastMessage"]["uuid"]
            await tenant.client.post("/v1/ai/messages/cancel", json={"uuids": [assistant]})

    async def test_sends_racing_into_a_new_chat(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        """Six first messages race into one new chat. A turn starts running while its message is
        still being committed, so each loser's run has begun: it is stopped with no trace (no model
        request, no stream, no task left), the loser gets a 409, and the one winner streams on."""
        llm.script(Reply(text="the one turn", hang=True))
        chat_uuid, requests = new_uuid(), len(llm.requests)
        winners: list[tuple[httpx.Response, StreamReader]] = []

        async def send(n: int) -> int:
            body = stream_body(chat_uuid, f"hi {n}")
            response = await tenant.client.send(tenant.client.build_request("POST", URL, json=body), stream=True)
            if response.status_code == 200:
                winners.append((response, StreamReader(response)))
                await winners[-1][1].until(1)
                return 200
            await response.aread()
            await response.aclose()
            assert response.json()["reason"] == "lastMessageNotFinished", response.json()
            return response.status_code

        codes = await asyncio.gather(*(send(n) for n in range(6)))
        assert sorted(codes) == [200, *[409] * 5]
        [(response, winner)] = winners
        try:
            await wait_until(lambda: len(llm.requests) > requests)  # the winner asks the model
            message_uuid = winner.chunks[0]["messageId"]
            assert list(server.state.executor.tasks) == [uuid.UUID(message_uuid)]  # the losers' runs are gone
            assert len(llm.requests) - requests == 1
            listed = (await tenant.client.get(f"/v1/ai/messages/list?chatUuid={chat_uuid}")).json()["messages"]
            assert sorted(m["type"] for m in listed) == ["assistant", "user"]
        finally:
            await tenant.client.post("/v1/ai/messages/cancel", json={"uuids": [winner.chunks[0]["messageId"]]})
            rest = await winner.rest()
            await response.aclose()
        assert rest[-1] == "[DONE]"

    async def test_a_failed_commit_leaves_no_trace(
        self, server: Server, tenant: Tenant, llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The run is started while its message is being committed. When the COMMIT fails, the
        client gets an error and the run stops before it does anything: no model request, no
        stream, no chat, no task left behind."""
        llm.script(Reply(text="never asked"))
        chat_uuid, requests = new_uuid(), len(llm.requests)
        submitted: list[uuid.UUID] = []
        submit = server.state.executor.submit
        monkeypatch.setattr(server.state.executor, "submit", lambda m, p=None: (submitted.append(m), submit(m, p)))

        engine = server.state.engine.sync_engine

        def mark(conn: sa.Connection, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if statement.startswith("INSERT INTO chats") and uuid.UUID(chat_uuid).hex in repr(params).replace("-", ""):
                conn.info["fail_commit"] = True  # the transaction that writes this chat

        def fail_its_commit(conn: sa.Connection) -> None:
            if conn.info.pop("fail_commit", False):
                raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error (injected)"))

        sa.event.listen(engine, "before_cursor_execute", mark)
        sa.event.listen(engine, "commit", fail_its_commit)
        try:
            response = await tenant.client.post(URL, json=stream_body(chat_uuid, "hi"))
        finally:
            sa.event.remove(engine, "before_cursor_execute", mark)
            sa.event.remove(engine, "commit", fail_its_commit)
        assert response.status_code == 500 and response.json() == {"errorMessage": "Internal server error"}
        [message_uuid] = submitted  # the run had been started
        await wait_until(lambda: message_uuid not in server.state.executor.tasks)
        assert len(llm.requests) == requests
        assert (await tenant.client.get(f"/v1/ai/chats/{chat_uuid}")).status_code == 404
        assert (await tenant.client.get(f"/v1/ai/messages/{message_uuid}")).status_code == 404
        assert (await tenant.client.get(f"{URL}/{message_uuid}/stream")).status_code in (204, 404)
        llm.queue.clear()


class TestReasoning:
    async def test_with_reasoning_streams_and_stores_thinking(
        self, server: Server, tenant: Tenant, llm: FakeLLM
    ) -> None:
        llm.script(Reply(reasoning="The user greets me.", text="Hello!"))
        body = stream_body(text="hi", integrationSlug="anthropic", languageModelSlug="claude-test", withReasoning=True)
        _, chunks = await stream_turn(tenant.client, body)
        assert llm.requests[0]["thinking"]["type"] in ("enabled", "adaptive")
        kinds = [kind(c) for c in chunks]
        assert kinds.index("reasoning-start") < kinds.index("reasoning-end") < kinds.index("text-start")
        assert "".join(c["delta"] for c in chunks if kind(c) == "reasoning-delta") == "The user greets me."
        message = (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        reasoning = next(p for p in message["parts"] if p["type"] == "reasoning")
        assert reasoning["text"] == "The user greets me." and reasoning["state"] == "done"
        assert message["withReasoning"] is True


class TestDeleteDuringTurn:
    async def test_deleting_the_chat_stops_its_turn(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="never ends", hang=True))
        chat_uuid = new_uuid()
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as r:
            reader = StreamReader(r)
            await reader.until(3)
            assert (await tenant.client.delete(f"/v1/ai/chats/{chat_uuid}")).status_code == 200
            rest = await reader.rest()
        assert rest[-1] == "[DONE]" and "abort" in [kind(c) for c in rest]
        await asyncio.wait_for(llm.disconnected.wait(), timeout=10)
