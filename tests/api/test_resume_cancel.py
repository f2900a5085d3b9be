"""Runs outlive requests: disconnect, re-attach (replay from the start), cancel; and the same
across two app instances sharing PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from pydantic_ai import Tool

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import (
    Server,
    StreamReader,
    new_uuid,
    parse_sse,
    read_stream,
    start_server,
    stream_body,
    wait_for_status,
)


async def first_chunks(response: httpx.Response, count: int) -> list[Any]:
    """Read until `count` data chunks arrived (then the caller may drop the connection)."""
    seen = ""
    async for text in response.aiter_text():
        seen += text
        if len(parse_sse(seen)) >= count:
            break
    return parse_sse(seen)


class TestDisconnect:
    async def test_run_finishes_after_client_leaves(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="one two three four five six seven eight", delay=0.05))
        chat_uuid = new_uuid()
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as r:
            head = await first_chunks(r, 2)
        message_uuid = head[0]["messageId"]
        message = await wait_for_status(tenant.client, message_uuid, {"success", "error", "cancelled"})
        assert message["status"] == "success"
        assert message["parts"][-1]["text"] == "one two three four five six seven eight"
        resumed = await tenant.client.get(f"/v1/ai/chats/{chat_uuid}/stream")
        assert resumed.status_code == 204

    async def test_resume_replays_from_the_start(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="alpha beta gamma delta epsilon zeta eta theta", delay=0.05))
        chat_uuid = new_uuid()
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as r:
            head = await first_chunks(r, 3)
        chat = (await tenant.client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
        assert chat["activeStreamUuid"] == head[0]["messageId"]
        async with tenant.client.stream("GET", f"/v1/ai/chats/{chat_uuid}/stream") as r:
            assert r.status_code == 200
            assert r.headers["x-vercel-ai-ui-message-stream"] == "v1"
            replay = await read_stream(r)
        assert replay[: len(head)] == head  # same ids, same messageId: nothing renamed, nothing doubled
        assert replay[-1] == "[DONE]"
        assert [c for c in replay if c == "[DONE]"] == ["[DONE]"]
        starts = [c for c in replay if isinstance(c, dict) and c["type"] == "start"]
        assert len(starts) == 1
        text = "".join(c["delta"] for c in replay if isinstance(c, dict) and c["type"] == "text-delta")
        assert text == "alpha beta gamma delta epsilon zeta eta theta"

    async def test_resume_after_last_event_id(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="one two three four five six", delay=0.05))
        chat_uuid = new_uuid()
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as r:
            seen = ""
            async for text in r.aiter_text():
                seen += text
                if len(parse_sse(seen)) >= 3:
                    break
        ids = [line[4:] for line in seen.split("\n") if line.startswith("id: ")]
        head = parse_sse(seen)
        async with tenant.client.stream(
            "GET", f"/v1/ai/chats/{chat_uuid}/stream", headers={"Last-Event-ID": ids[len(head) - 1]}
        ) as r:
            rest = await read_stream(r)
        assert rest[0] != head[-1] and rest[-1] == "[DONE]"
        full = (await tenant.client.get(f"/v1/ai/messages/{head[0]['messageId']}")).json()["message"]
        text = "".join(c["delta"] for c in head + rest if isinstance(c, dict) and c["type"] == "text-delta")
        assert text == full["parts"][-1]["text"]


def slow_tool_factory(started: asyncio.Event, cancelled: asyncio.Event) -> Tool:
    async def wait_for_approval(ticket: str) -> str:
        """Wait for a human to approve a ticket."""
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "approved"

    return Tool(wait_for_approval)


class TestCancel:
    async def test_cancel_aborts_the_provider_call(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="partial answer then nothing", hang=True))
        chat_uuid = new_uuid()
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as r:
            reader = StreamReader(r)
            head = await reader.until(3)
            message_uuid = head[0]["messageId"]
            cancel = await tenant.client.post("/v1/ai/messages/cancel", json={"uuids": [message_uuid]})
            assert cancel.status_code == 200 and cancel.json() == {}
            rest = await reader.rest()
        await asyncio.wait_for(llm.disconnected.wait(), timeout=10)
        assert rest[-1] == "[DONE]"
        kinds = [c["type"] for c in rest if isinstance(c, dict)]
        assert "abort" in kinds and kinds[-1] == "finish"
        message = await wait_for_status(tenant.client, message_uuid, {"cancelled"})
        assert message["finishedAt"] is not None
        # The cut-off call reported no usage; what it streamed is counted as an estimate.
        streamed = "".join(c["delta"] for c in head + rest if isinstance(c, dict) and c["type"] == "text-delta")
        assert streamed and message["parts"][-1]["text"] == streamed
        assert message["usage"]["isEstimated"] is True
        assert message["usage"]["outputTokensCount"] == -(-len(streamed) // 4)
        assert message["usage"]["creditsUsedCount"] > 0
        chat = (await tenant.client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
        assert chat["activeStreamUuid"] is None

    async def test_cancel_stops_an_inflight_tool_and_history_stays_valid(
        self, server: Server, tenant: Tenant, llm: FakeLLM
    ) -> None:
        started, cancelled = asyncio.Event(), asyncio.Event()
        server.state.tools.register(slow_tool_factory(started, cancelled))
        llm.script(
            Reply(tool_calls=[ToolCall("wait_for_approval", {"ticket": "T-1"}, id="call_slow")]),
            Reply(text="Fresh start."),
        )
        chat_uuid = new_uuid()
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as r:
            reader = StreamReader(r)
            head = await reader.until(1)
            await asyncio.wait_for(started.wait(), timeout=10)
            await tenant.client.post("/v1/ai/messages/cancel", json={"uuids": [head[0]["messageId"]]})
            await reader.rest()
        await asyncio.wait_for(cancelled.wait(), timeout=10)
        message = await wait_for_status(tenant.client, head[0]["messageId"], {"cancelled"})
        tool_part = next(p for p in message["parts"] if p["type"] == "tool-wait_for_approval")
        assert tool_part["input"] == {"ticket": "T-1"}
        # A cancelled call is an error, never an output (it returned nothing).
        assert tool_part["state"] == "output-error" and "output" not in tool_part
        assert tool_part["errorText"] == "The tool call was cancelled before it returned a result."
        # The next turn's history closes the unanswered call, so the provider accepts it.
        _, chunks = await _stream(tenant, stream_body(chat_uuid, "start over"))
        assert chunks[-1] == "[DONE]"
        sent = llm.requests[-1]["messages"]
        call_ids = [c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls") or []]
        answered = [m["tool_call_id"] for m in sent if m["role"] == "tool"]
        assert call_ids == ["call_slow"] and answered == ["call_slow"]

    async def test_unknown_and_finished_messages_are_skipped(
        self, server: Server, tenant: Tenant, llm: FakeLLM
    ) -> None:
        llm.script(Reply(text="done"))
        _, chunks = await _stream(tenant, stream_body())
        response = await tenant.client.post(
            "/v1/ai/messages/cancel", json={"uuids": [chunks[0]["messageId"], new_uuid()]}
        )
        assert response.status_code == 200
        message = (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["status"] == "success"


async def _stream(tenant: Tenant, body: dict[str, Any]) -> tuple[httpx.Response, list[Any]]:
    from ..harness import stream_turn

    return await stream_turn(tenant.client, body)


class TestTwoInstances:
    """Two app instances share state through PostgreSQL and Redis (only)."""

    @pytest.mark.parametrize("backend", ["postgres"], indirect=True)
    async def test_resume_and_cancel_from_the_other_instance(
        self, backend: str, make_settings: Any, make_tenant: Any, llm: FakeLLM
    ) -> None:
        async with start_server(make_settings()) as a, start_server(make_settings()) as b:
            tenant_a = await make_tenant(a)
            client_b = httpx.AsyncClient(base_url=b.base_url, headers=dict(tenant_a.client.headers), timeout=30)
            try:
                # Resume on B a run that A started.
                llm.script(Reply(text="from instance A to whoever listens", delay=0.05))
                chat_uuid = new_uuid()
                async with tenant_a.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as r:
                    head = await first_chunks(r, 2)
                assert head[0]["messageId"] and a.state.executor.tasks and not b.state.executor.tasks
                async with client_b.stream("GET", f"/v1/ai/chats/{chat_uuid}/stream") as r:
                    assert r.status_code == 200
                    replay = await read_stream(r)
                assert replay[:2] == head and replay[-1] == "[DONE]"
                text = "".join(c["delta"] for c in replay if isinstance(c, dict) and c["type"] == "text-delta")
                assert text == "from instance A to whoever listens"

                # Cancel through B a run that A holds.
                llm.disconnected.clear()
                llm.script(Reply(text="hanging on A", hang=True))
                chat2 = new_uuid()
                async with tenant_a.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat2)) as r:
                    reader = StreamReader(r)
                    head = await reader.until(3)
                    message_uuid = head[0]["messageId"]
                    await client_b.post("/v1/ai/messages/cancel", json={"uuids": [message_uuid]})
                    rest = await reader.rest()
                assert rest[-1] == "[DONE]"
                await asyncio.wait_for(llm.disconnected.wait(), timeout=10)
                message = await wait_for_status(client_b, message_uuid, {"cancelled"})
                assert message["status"] == "cancelled"
            finally:
                await client_b.aclose()
