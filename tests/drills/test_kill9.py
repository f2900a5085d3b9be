"""Drill: `kill -9` the server in the middle of 20 concurrent streams, start it again, and nothing
is left stuck: every assistant message ends (`error` "interrupted", or `success` if it had
finished), every reader gets an ending, and every chat takes a new turn that succeeds."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from cargohold.services.finish import INTERRUPTED

from ..harness import kind, new_uuid, parse_sse, read_stream, stream_body, stream_turn, text_of, wait_until
from ..serve_process import restartable_port, serve_env, serve_process

pytestmark = pytest.mark.drill

STREAMS = 20
LEASE = "1.5"


class StreamSeen:
    """What one client saw of its stream before the server died."""

    def __init__(self) -> None:
        self.raw = ""
        self.first_delta = asyncio.Event()
        self.error: Exception | None = None

    @property
    def chunks(self) -> list[Any]:
        return parse_sse(self.raw)


async def watch(client: httpx.AsyncClient, chat_uuid: str, seen: StreamSeen) -> None:
    body = stream_body(chat_uuid, f"tell me a long story, chat {chat_uuid}")
    try:
        async with client.stream("POST", "/v1/ai/messages/stream", json=body) as response:
            assert response.status_code == 200, await response.aread()
            async for text in response.aiter_text():
                seen.raw += text
                if "text-delta" in text and any(kind(c) == "text-delta" for c in seen.chunks):
                    seen.first_delta.set()
    except httpx.HTTPError as exc:  # the server died under the response: the body is cut
        seen.error = exc


async def test_kill9_mid_streams_then_restart(make_settings: Any) -> None:
    settings = make_settings()
    # A slow offline model (~35 words, 0.2 s apart): the turns are mid-stream when the kill comes.
    first_env = serve_env(settings, CARGOHOLD_LEASE_SECONDS=LEASE, CARGOHOLD_OFFLINE_TOKEN_DELAY="0.2")
    chats = [new_uuid() for _ in range(STREAMS)]
    seen = [StreamSeen() for _ in chats]

    async with serve_process(first_env, port=restartable_port()) as first:
        assert first.token, "the first start prints a token"
        headers = {"Authorization": f"Bearer {first.token}"}
        port = int(first.base_url.rsplit(":", 1)[1])
        async with httpx.AsyncClient(base_url=first.base_url, headers=headers, timeout=30) as client:
            watchers = [asyncio.create_task(watch(client, c, s)) for c, s in zip(chats, seen, strict=True)]
            try:
                await asyncio.wait_for(asyncio.gather(*(s.first_delta.wait() for s in seen)), timeout=30)
            except TimeoutError:
                pytest.fail(f"not all {STREAMS} streams reached a text delta:\n{first.log_tail()}")
            await first.kill()
            await asyncio.wait_for(asyncio.gather(*watchers), timeout=15)

    message_uuids = [s.chunks[0]["messageId"] for s in seen]
    # What a user saw: each stream started and streamed text; the kill cut it short (no `[DONE]`),
    # unless its turn had already finished.
    finished = {s.chunks[0]["messageId"] for s in seen if "[DONE]" in s.chunks}
    for s in seen:
        assert kind(s.chunks[0]) == "start" and text_of(s.chunks)
        assert ("[DONE]" in s.chunks) or s.error is not None

    # Restart on the same port with a fast reaper: the dead process's leases expire and get reaped.
    second_env = serve_env(
        settings,
        CARGOHOLD_LEASE_SECONDS=LEASE,
        CARGOHOLD_REAPER_INTERVAL_SECONDS="0.1",
        CARGOHOLD_OFFLINE_TOKEN_DELAY="0",
    )
    async with (
        serve_process(second_env, port=port) as second,
        httpx.AsyncClient(base_url=second.base_url, headers=headers, timeout=30) as client,
    ):
        messages: dict[str, dict[str, Any]] = {}

        async def all_finished() -> bool:
            for message_uuid in message_uuids:
                if messages.get(message_uuid, {}).get("status") not in (None, "pending", "generating"):
                    continue
                response = await client.get(f"/v1/ai/messages/{message_uuid}")
                assert response.status_code == 200, response.text
                messages[message_uuid] = response.json()["message"]
            return all(m["status"] not in ("pending", "generating") for m in messages.values())

        try:
            await wait_until(all_finished, timeout=20)
        except TimeoutError:
            stuck = {u: m["status"] for u, m in messages.items() if m["status"] in ("pending", "generating")}
            pytest.fail(f"messages still unfinished after restart: {stuck}\n{second.log_tail()}")

        for message_uuid in message_uuids:
            message = messages[message_uuid]
            if message_uuid in finished or message["status"] == "success":  # it finished before the kill
                assert message["status"] == "success", message
            else:
                assert message["status"] == "error", message
                assert message["errorMessage"] == INTERRUPTED
            assert message["finishedAt"] is not None
        interrupted = [u for u in message_uuids if messages[u]["status"] == "error"]
        assert len(interrupted) > STREAMS // 2, "most turns finished before the kill: the drill means nothing"

        async def check_chat(chat_uuid: str, message_uuid: str) -> None:
            chat = (await client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
            assert chat["activeStreamUuid"] is None
            # A reader re-attaching finds no stream (in-process broker: it died with the process),
            # or the dead stream with a proper ending (Redis: the reaper closed it). Never a hang.
            async with client.stream("GET", f"/v1/ai/chats/{chat_uuid}/stream") as response:
                assert response.status_code in (200, 204)
                if response.status_code == 200:
                    replay = await asyncio.wait_for(read_stream(response), timeout=10)
                    assert replay[-1] == "[DONE]" and kind(replay[-2]) == "finish"
                    assert {"type": "error", "errorText": INTERRUPTED} in replay
            # The chat takes a new turn, and it succeeds.
            response, chunks = await stream_turn(client, stream_body(chat_uuid, "are you back?"))
            assert response.status_code == 200, response.text
            assert chunks[-1] == "[DONE]" and kind(chunks[-2]) == "finish"
            assert "error" not in [kind(c) for c in chunks]
            listed = (await client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()
            before = messages[message_uuid]["status"]
            assert [m["status"] for m in listed["messages"]] == ["success", before, "success", "success"]

        await asyncio.wait_for(
            asyncio.gather(*(check_chat(c, m) for c, m in zip(chats, message_uuids, strict=True))), timeout=60
        )
