"""The Python client against a real server: typed objects, typed stream chunks, errors with their
reason. The sync client runs in a worker thread (the server shares the test's event loop)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from pydantic_ai.ui.vercel_ai.response_types import (
    FinishChunk,
    StartChunk,
    TextDeltaChunk,
    ToolInputAvailableChunk,
    ToolOutputAvailableChunk,
)

from cargohold.client import AsyncClient, CargoholdAPIError, Client
from cargohold.schemas.chats import Chat
from cargohold.schemas.messages import Message
from cargohold.store.workspaces import create_token, create_workspace

from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, start_server


@pytest.fixture
async def served(make_settings: Any) -> Any:
    settings = make_settings(
        builtin_tools=["calculate"], default_model="offline:offline", allow_private_urls="127.0.0.0/8"
    )
    async with start_server(settings) as srv:
        async with srv.state.sessions() as session, session.begin():
            _, user = await create_workspace(session, "client-test")
            token = await create_token(session, user)
        yield srv, token


async def test_async_client_streams_typed_chunks_and_reads_typed_objects(served: Any) -> None:
    srv, token = served
    async with AsyncClient(srv.base_url, token) as client:
        chat = await client.create_chat(name="Sums")
        assert isinstance(chat, Chat) and chat.name == "Sums"
        chunks = [c async for c in client.stream("Please calculate (12 + 30) * 2", chat_uuid=chat.uuid)]
        assert isinstance(chunks[0], StartChunk)
        call = next(c for c in chunks if isinstance(c, ToolInputAvailableChunk))
        assert call.tool_name == "calculate" and call.input == {"expression": "(12 + 30) * 2"}
        output = next(c for c in chunks if isinstance(c, ToolOutputAvailableChunk))
        assert output.output["result"] == 84
        assert "84" in "".join(c.delta for c in chunks if isinstance(c, TextDeltaChunk))
        assert isinstance(chunks[-1], FinishChunk)
        messages = await client.list_messages(chat.uuid)
        assert [m.type for m in messages] == ["user", "assistant"] and all(isinstance(m, Message) for m in messages)
        assert messages[1].status == "success" and messages[1].usage is not None
        assert (await client.get_chat(chat.uuid)).credits_used_count == messages[1].usage.credits_used_count

        pair = await client.send("calculate 2 + 2", chatUuid=str(chat.uuid))
        done = await client.wait(pair.assistant_message.uuid)
        assert done.status == "success" and any(p.get("output", {}).get("result") == 4 for p in done.parts)

        with pytest.raises(CargoholdAPIError) as caught:
            await client.get_chat(uuid.uuid4())
        assert caught.value.status == 404 and caught.value.reason == "chatNotFound"
        with pytest.raises(CargoholdAPIError) as caught:
            await client.create_chat(trigger={"type": "fax"})
        assert caught.value.status == 400 and "trigger" in caught.value.message


async def test_agents_releases_and_tools(served: Any) -> None:
    srv, token = served
    async with AsyncClient(srv.base_url, token) as client:
        agent = await client.create_agent(name="Helper", icon={"color": "blue", "face": "smile"})
        draft = await client.update_draft(agent.uuid, systemPrompt="Be brief.")
        assert draft.system_prompt == "Be brief." and draft.status == "draft"
        deployed = await client.deploy_draft(agent.uuid)
        assert deployed.status == "deployed"
        assert deployed.uuid in {r.uuid for r in await client.list_releases(agent.uuid)}
        assert (await client.get_agent(agent.uuid)).name == "Helper"
        created = await client.create_tool(
            name="Hook", url="http://127.0.0.1:9/hook", headers={"X-Api-Key": "k-s3cr3t"}
        )
        assert created.signing_secret and created.tool.headers == {"X-Api-Key": "********"}
        assert [t.uuid for t in await client.list_tools()] == [created.tool.uuid]
        await client.delete_tool(created.tool.uuid)
        assert await client.list_tools() == []
        await client.delete_agent(agent.uuid)
        with pytest.raises(CargoholdAPIError) as caught:
            await client.get_agent(agent.uuid)
        assert caught.value.status == 404


async def test_cancel_and_resume(make_settings: Any, make_tenant: Any, llm: FakeLLM) -> None:
    async with start_server(make_settings()) as srv:
        tenant = await make_tenant(srv)
        token = tenant.client.headers["Authorization"].removeprefix("Bearer ")
        llm.script(Reply(text="a long answer that never ends", hang=True))
        async with AsyncClient(srv.base_url, token) as client:
            chat_uuid = uuid.uuid4()
            stream = client.stream("hello", chat_uuid=chat_uuid)
            first = await anext(stream)
            assert isinstance(first, StartChunk) and first.message_id
            resumed = client.resume(chat_uuid)
            assert isinstance(await anext(resumed), StartChunk)  # the same stream, from the start
            await client.cancel(first.message_id)
            rest = [c async for c in stream]
            assert isinstance(rest[-1], FinishChunk)
            assert isinstance([c async for c in resumed][-1], FinishChunk)
            assert (await client.get_message(first.message_id)).status == "cancelled"
            assert [c async for c in client.resume(chat_uuid)] == []  # no active stream: nothing


async def test_sync_client(served: Any) -> None:
    srv, token = served

    def use() -> tuple[list[Any], list[Message], int]:
        with Client(srv.base_url, token) as client:
            chunks = list(client.stream("calculate 6 * 7"))
            messages = client.list_messages(chunks and client.list_chats()[0].uuid)
            try:
                client.get_message(uuid.uuid4())
            except CargoholdAPIError as exc:
                return chunks, messages, exc.status
            return chunks, messages, 0

    chunks, messages, status = await asyncio.to_thread(use)
    assert any(isinstance(c, ToolOutputAvailableChunk) and c.output["result"] == 42 for c in chunks)
    assert messages[-1].status == "success" and status == 404


def test_a_chunk_type_the_client_does_not_know_stays_a_dict() -> None:
    from cargohold.client import parse_chunk

    assert parse_chunk({"type": "custom-thing", "x": 1}) == {"type": "custom-thing", "x": 1}
    assert isinstance(parse_chunk({"type": "text-delta", "id": "t", "delta": "hi"}), TextDeltaChunk)


__all__ = ["Server"]
