"""Drill: 200 clients each start a stream and hang up after the first text delta. The runs do not
belong to the requests: every one still finishes `success` with its full text stored.

The offline model streams the answer a word at a time, 20 ms apart (about 0.6 s a turn), so each
client leaves early in its turn; it is the cheapest real streaming path, which keeps 200 turns
on one event loop (server and clients) within seconds."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ..conftest import MakeTenant
from ..harness import kind, new_uuid, parse_sse, start_server, stream_body, stream_turn, text_of, wait_until

pytestmark = pytest.mark.drill

CLIENTS = 200
PROMPT = "talk to me"


async def start_and_hang_up(client: httpx.AsyncClient, chat_uuid: str) -> tuple[str, list[Any]]:
    """Start a streamed turn, read up to the first text delta, then drop the connection."""
    seen = ""
    async with client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid, PROMPT)) as response:
        assert response.status_code == 200, await response.aread()
        async for text in response.aiter_text():
            seen += text
            if any(kind(c) == "text-delta" for c in parse_sse(seen)):
                break
    chunks = parse_sse(seen)
    return chunks[0]["messageId"], chunks


async def test_two_hundred_clients_hang_up_mid_stream(make_settings: Any, make_tenant: MakeTenant) -> None:
    settings = make_settings(default_model="offline:offline", offline_token_delay=0.02)
    async with start_server(settings) as srv:
        tenant = await make_tenant(srv)
        # The full answer, as a client that stays to the end reads it.
        _, chunks = await stream_turn(tenant.client, stream_body(new_uuid(), PROMPT))
        full_text = text_of(chunks)
        assert chunks[-1] == "[DONE]" and len(full_text.split()) >= 20

        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(
            base_url=srv.base_url, headers=dict(tenant.client.headers), timeout=60, limits=limits
        ) as client:
            chats = [new_uuid() for _ in range(CLIENTS)]
            results = await asyncio.wait_for(asyncio.gather(*(start_and_hang_up(client, c) for c in chats)), timeout=90)
        # The clients left mid-stream: they saw a text delta and no ending (a client whose whole
        # turn arrived in one read, on a loaded machine, is not counted against the drill).
        left_early = sum("finish" not in map(kind, chunks) for _, chunks in results)
        assert left_early >= CLIENTS // 2, f"only {left_early} of {CLIENTS} clients left before the end"

        # Every run goes on to the end, on its own.
        unfinished = {"messageStatuses[]": ["pending", "generating"], "limit": 500}

        async def all_finished() -> bool:
            response = await tenant.client.get("/v1/ai/chats/list", params=unfinished)
            return response.json()["chats"] == []

        await wait_until(all_finished, timeout=60)
        messages = {}
        for message_uuid, _ in results:
            messages[message_uuid] = (await tenant.client.get(f"/v1/ai/messages/{message_uuid}")).json()["message"]
        statuses = [m["status"] for m in messages.values()]
        assert statuses == ["success"] * CLIENTS, {s: statuses.count(s) for s in set(statuses)}
        for message in messages.values():
            assert message["parts"][-1] == {"type": "text", "text": full_text, "state": "done"}
            assert message["usage"]["isEstimated"] is False
            assert message["errorMessage"] is None
        chat_list = (await tenant.client.get("/v1/ai/chats/list", params={"limit": 500})).json()["chats"]
        assert len(chat_list) == CLIENTS + 1
        assert all(chat["activeStreamUuid"] is None for chat in chat_list)
