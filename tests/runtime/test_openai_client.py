"""`runtime.openai_client.LeanAsyncOpenAI`: streamed chunks validated by pydantic-core, and the
SDK's own lenient build for a chunk that does not validate, so any OpenAI-compatible server that
worked before still works. Driven through pydantic-ai's `OpenAIChatModel` over HTTP (an in-process
transport answering with the server's bytes)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from pydantic_ai import Agent
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from cargohold.runtime.openai_client import LeanAsyncOpenAI


def _sse(chunks: list[dict[str, Any]]) -> bytes:
    return b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks) + b"data: [DONE]\n\n"


def _server(chunks: list[dict[str, Any]]) -> httpx2.AsyncClient:
    def answer(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=_sse(chunks))

    return httpx2.AsyncClient(transport=httpx2.MockTransport(answer))


def _chunk(delta: dict[str, Any], finish: str | None = None, **head: Any) -> dict[str, Any]:
    return {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


STRICT = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m"}
LOOSE = {"id": "c1", "model": "m"}  # no `object`, no `created`: the SDK's models do not validate it


@pytest.mark.parametrize("head, finish", [(STRICT, "stop"), (LOOSE, "eos")], ids=["valid", "lenient"])
async def test_streamed_text_arrives_whole(head: dict[str, Any], finish: str, allow_model_requests: None) -> None:
    chunks = [_chunk({"role": "assistant", "content": ""}, **head)]
    chunks += [_chunk({"content": word}, **head) for word in ("Hello", ", ", "world")]
    chunks.append(_chunk({}, finish, **head))
    client = LeanAsyncOpenAI(api_key="k", base_url="http://llm.test/v1", http_client=_server(chunks), max_retries=0)
    agent = Agent(OpenAIChatModel("m", provider=OpenAIProvider(openai_client=client)))
    async with agent.run_stream("hi") as run:
        text = await run.get_output()
    assert text == "Hello, world"
