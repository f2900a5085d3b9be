"""Drill: a stream that stays quiet longer than the broker's socket timeout (a model slow to its
first token, a long tool call) is kept open with keep-alive comments and ends normally.

Over Redis this failed: the relay's blocking XREAD waited `keepalive_seconds` (15 s by default)
on a connection whose socket timeout is 5 s (redis-py's default), so any stream quiet for 5 s
died with a `redis.TimeoutError` and the client got a cut body. The socket timeout is shortened
here (`?socket_timeout=0.5`, keep-alive 1 s) so the drill takes about a second."""

from __future__ import annotations

from typing import Any

import pytest

from ..conftest import MakeTenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import kind, new_uuid, parse_sse, start_server, stream_body, text_of

pytestmark = pytest.mark.drill

SOCKET_TIMEOUT = 0.5
KEEPALIVE = 1.0
QUIET = 1.6


async def test_quiet_stream_stays_open(make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM) -> None:
    base = make_settings()
    overrides: dict[str, Any] = {"keepalive_seconds": KEEPALIVE}
    if base.redis_url:
        sep = "&" if "?" in base.redis_url else "?"
        overrides["redis_url"] = f"{base.redis_url}{sep}socket_timeout={SOCKET_TIMEOUT}"
    llm.script(Reply(text="I thought about it for a while.", first_delay=QUIET))
    async with start_server(make_settings(**overrides)) as srv:
        tenant = await make_tenant(srv)
        chat_uuid = new_uuid()
        raw = ""
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as response:
            assert response.status_code == 200
            async for text in response.aiter_text():
                raw += text
        chunks = parse_sse(raw)
        assert ": keep-alive" in raw  # the quiet second was bridged, not dropped
        assert kind(chunks[-2]) == "finish" and chunks[-1] == "[DONE]"
        assert "error" not in map(kind, chunks)
        assert text_of(chunks) == "I thought about it for a while."
        message = (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]
        assert message["status"] == "success"
