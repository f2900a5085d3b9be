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


def _recorder(seen: list[httpx2.Request]) -> httpx2.AsyncClient:
    def answer(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        body = json.loads(request.content)
        if body.get("stream"):
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=_sse([]))
        message = {"role": "assistant", "content": "ok"}
        choice = {"index": 0, "message": message, "finish_reason": "stop"}
        reply = {**STRICT, "object": "chat.completion", "choices": [choice]}
        return httpx2.Response(200, json=reply)

    return httpx2.AsyncClient(transport=httpx2.MockTransport(answer))


TOOL = {"type": "function", "function": {"name": "calc", "parameters": {"type": "object", "properties": {}}}}
ARGS: dict[str, Any] = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "hi"}]},
    ],
    "tools": [TOOL],
    "temperature": 0.2,
    "stream_options": {"include_usage": True},
    "extra_headers": {"User-Agent": "pydantic-ai/test", "X-Trace": "t1"},
    "extra_body": {"top_k": 3},
    "timeout": 12.5,
}


@pytest.mark.parametrize("stream", [True, False])
async def test_request_is_the_sdks(stream: bool) -> None:
    """The body `LeanAsyncCompletions.create` sends itself, and its headers, are the SDK's."""
    from openai import AsyncOpenAI, omit

    sent: dict[str, list[httpx2.Request]] = {"sdk": [], "lean": []}
    for name, cls in (("sdk", AsyncOpenAI), ("lean", LeanAsyncOpenAI)):
        client = cls(api_key="k", base_url="http://llm.test/v1", http_client=_recorder(sent[name]), max_retries=0)
        result = await client.chat.completions.create(**ARGS, stream=stream, seed=omit, user=omit)
        if stream:
            assert [chunk async for chunk in result] == []
        else:
            assert result.choices[0].message.content == "ok"
    [sdk], [lean] = sent["sdk"], sent["lean"]
    assert json.loads(lean.content) == json.loads(sdk.content)
    assert json.loads(lean.content)["top_k"] == 3 and "seed" not in json.loads(lean.content)
    for header in ("authorization", "user-agent", "x-trace", "content-type", "x-stainless-read-timeout"):
        assert lean.headers.get(header) == sdk.headers.get(header), header
    assert lean.url == sdk.url


async def test_other_arguments_take_the_sdks_path() -> None:
    """Arguments that are not plain JSON go through the SDK's own transform; unknown ones fail as
    the SDK fails."""
    seen: list[httpx2.Request] = []
    client = LeanAsyncOpenAI(api_key="k", base_url="http://llm.test/v1", http_client=_recorder(seen), max_retries=0)
    messages = iter([{"role": "user", "content": "hi"}])  # an iterable, which the SDK's transform lists
    await client.chat.completions.create(model="m", messages=messages)
    assert json.loads(seen[0].content) == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        await client.chat.completions.create(model="m", messages=[], colour="red")
