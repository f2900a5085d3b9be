"""`AsyncClient`: the asynchronous cargohold client (see `cargohold.client`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import httpx

from ..schemas.agents import Agent
from ..schemas.chats import Chat
from ..schemas.messages import Message, MessagePair
from ..schemas.releases import Release, ReleaseSummary
from ..schemas.tools import Tool, ToolCreated, ToolRun
from ._requests import Calls as r
from ._requests import Chunk, Req, error_of, sse_events

__all__ = ["AsyncClient"]

FINISHED = frozenset({"success", "error", "cancelled"})


class AsyncClient:
    def __init__(
        self, base_url: str, token: str, *, timeout: float = 60.0, http: httpx.AsyncClient | None = None
    ) -> None:
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._http.headers["Authorization"] = f"Bearer {token}"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, req: Req) -> Any:
        response = await self._http.request(req.method, req.path, **req.kwargs())
        return req.read(response.status_code, response.content)

    async def create_chat(
        self, trigger: dict[str, Any] | None = None, name: str | None = None, agent_uuid: Any = None
    ) -> Chat:
        return await self._run(r.create_chat(trigger, name, agent_uuid))

    async def list_chats(self, limit: int = 50, offset: int = 0, **filters: Any) -> list[Chat]:
        return await self._run(r.list_chats(limit, offset, **filters))

    async def get_chat(self, chat_uuid: Any) -> Chat:
        return await self._run(r.get_chat(chat_uuid))

    async def rename_chat(self, chat_uuid: Any, name: str | None) -> Chat:
        return await self._run(r.rename_chat(chat_uuid, name))

    async def delete_chat(self, chat_uuid: Any) -> None:
        await self._run(r.delete_chat(chat_uuid))

    async def get_message(self, message_uuid: Any) -> Message:
        return await self._run(r.get_message(message_uuid))

    async def list_messages(self, chat_uuid: Any, limit: int = 50, offset: int = 0) -> list[Message]:
        return await self._run(r.list_messages(chat_uuid, limit, offset))

    async def delete_message(self, message_uuid: Any) -> None:
        await self._run(r.delete_message(message_uuid))

    async def create_agent(self, **fields: Any) -> Agent:
        return await self._run(r.create_agent(fields))

    async def list_agents(self) -> list[Agent]:
        return await self._run(r.list_agents())

    async def get_agent(self, agent_uuid: Any) -> Agent:
        return await self._run(r.get_agent(agent_uuid))

    async def update_agent(self, agent_uuid: Any, **fields: Any) -> Agent:
        return await self._run(r.update_agent(agent_uuid, fields))

    async def delete_agent(self, agent_uuid: Any) -> None:
        await self._run(r.delete_agent(agent_uuid))

    async def get_draft(self, agent_uuid: Any) -> Release:
        return await self._run(r.get_draft(agent_uuid))

    async def update_draft(self, agent_uuid: Any, **fields: Any) -> Release:
        return await self._run(r.update_draft(agent_uuid, fields))

    async def deploy_draft(self, agent_uuid: Any, **fields: Any) -> Release:
        return await self._run(r.deploy_draft(agent_uuid, fields))

    async def get_release(self, release_uuid: Any) -> Release:
        return await self._run(r.get_release(release_uuid))

    async def list_releases(self, agent_uuid: Any) -> list[ReleaseSummary]:
        return await self._run(r.list_releases(agent_uuid))

    async def create_tool(self, **fields: Any) -> ToolCreated:
        return await self._run(r.create_tool(fields))

    async def list_tools(self) -> list[Tool]:
        return await self._run(r.list_tools())

    async def get_tool(self, tool_uuid: Any) -> Tool:
        return await self._run(r.get_tool(tool_uuid))

    async def update_tool(self, tool_uuid: Any, **fields: Any) -> Tool:
        return await self._run(r.update_tool(tool_uuid, fields))

    async def delete_tool(self, tool_uuid: Any) -> None:
        await self._run(r.delete_tool(tool_uuid))

    async def get_tool_run(self, run_uuid: Any) -> ToolRun:
        return await self._run(r.get_tool_run(run_uuid))

    async def send(
        self, text: str | None = None, *, parts: list[dict[str, Any]] | None = None, **fields: Any
    ) -> MessagePair:
        """`POST /v1/ai/messages`: store a turn and run it in the background (see `wait`)."""
        result: MessagePair = await self._run(r.create_message(r.message_fields(text, parts, fields)))
        return result

    async def wait(self, message_uuid: Any, *, timeout: float = 120.0, every: float = 0.2) -> Message:  # noqa: ASYNC109
        """Poll a message until it is finished (`success`, `error` or `cancelled`)."""
        deadline = time.monotonic() + timeout
        while True:
            message = await self.get_message(message_uuid)
            if message.status in FINISHED:
                return message
            if time.monotonic() > deadline:
                raise TimeoutError(f"message {message_uuid} is still {message.status} after {timeout:g}s")
            await asyncio.sleep(every)

    async def cancel(self, *message_uuids: Any) -> None:
        await self._run(r.cancel_messages(list(message_uuids)))

    async def stream(
        self,
        text: str | None = None,
        *,
        chat_uuid: Any = None,
        parts: list[dict[str, Any]] | None = None,
        **fields: Any,
    ) -> AsyncIterator[Chunk]:
        """`POST /v1/ai/messages/stream`: one turn, its chunks as they come (a new chat unless
        `chat_uuid`). The first chunk is `StartChunk` with the assistant message's uuid."""
        body = r.stream_body(chat_uuid or uuid.uuid4(), text, parts, fields)
        async for chunk in self._stream("POST", "/v1/ai/messages/stream", json=body):
            yield chunk

    async def resume(self, chat_uuid: Any, last_event_id: str | None = None) -> AsyncIterator[Chunk]:
        """`GET /v1/ai/chats/{uuid}/stream`: the chat's active stream (from the start, or after
        `last_event_id`); nothing when the chat has none."""
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        async for chunk in self._stream("GET", f"/v1/ai/chats/{chat_uuid}/stream", headers=headers):
            yield chunk

    async def _stream(self, method: str, path: str, **kwargs: Any) -> AsyncIterator[Chunk]:
        state: dict[str, str | None] = {"id": None}
        async with self._http.stream(method, path, **kwargs) as response:
            if response.status_code == 204:
                return
            if response.status_code >= 400:
                raise error_of(response.status_code, await response.aread())
            async for line in response.aiter_lines():
                for chunk in sse_events([line], state):
                    if chunk is None:
                        return
                    yield chunk
