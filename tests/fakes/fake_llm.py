"""A fake OpenAI-compatible and Anthropic-compatible model server on 127.0.0.1 that streams
scripted replies, so tests run the real provider client code over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..harness import wait_until


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any] | str
    id: str | None = None

    def json_args(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class Reply:
    text: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: str | None = None
    input_tokens: int = 10
    output_tokens: int = 5
    status: int = 200
    cut_after_chunks: int | None = None
    """Close the connection abruptly after this many SSE events."""
    hang: bool = False
    """Send the first event (and the first text piece), then wait until the client goes away."""
    delay: float = 0.0
    """Seconds between streamed events."""


class _Cut(Exception):
    pass


def _pieces(text: str) -> list[str]:
    words = text.split(" ")
    out = [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)]
    return [p + (" " if i < len(out) - 1 else "") for i, p in enumerate(out)]


def _halves(text: str) -> list[str]:
    half = max(1, len(text) // 2)
    return [text[:half], text[half:]] if len(text) > 1 else [text]


class FakeLLM:
    def __init__(self) -> None:
        self.queue: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.disconnected = asyncio.Event()
        self.default: Reply | None = None
        self.port = 0
        self._calls = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *replies: Reply) -> None:
        self.queue.extend(replies)

    async def __aenter__(self) -> FakeLLM:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
            ]
        )
        # Port 0 through uvicorn: a pre-bound socket would serve without TCP_NODELAY (+40 ms a request).
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        server, task = self._server, self._task
        await wait_until(lambda: server.started or task.done(), timeout=10)
        if task.done():
            raise RuntimeError("fake LLM did not start")
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            self._server.force_exit = True
            await asyncio.wait_for(self._task, timeout=10)

    def _next(self) -> Reply | None:
        if self.queue:
            return self.queue.pop(0)
        return self.default

    def _call_id(self, call: ToolCall) -> str:
        if call.id:
            return call.id
        self._calls += 1
        return f"call_{self._calls}"

    async def _sse(self, events: list[str], reply: Reply) -> AsyncIterator[str]:
        try:
            for i, event in enumerate(events):
                if reply.cut_after_chunks is not None and i >= reply.cut_after_chunks:
                    raise _Cut()
                if reply.hang and i >= 3:
                    await asyncio.Event().wait()
                if i and reply.delay:
                    await asyncio.sleep(reply.delay)
                yield event
        except asyncio.CancelledError:
            self.disconnected.set()
            raise

    # --- OpenAI Chat Completions -------------------------------------------------------------------
    async def _openai(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        reply = self._next()
        if reply is None:
            return JSONResponse(
                {"error": {"message": "fake LLM: no scripted reply left", "type": "server_error", "code": None}},
                status_code=500,
            )
        if reply.status != 200:
            return JSONResponse(
                {
                    "error": {
                        "message": f"fake LLM scripted status {reply.status}",
                        "type": "server_error",
                        "code": None,
                    }
                },
                status_code=reply.status,
            )
        model = body.get("model", "fake")
        calls = [(self._call_id(c), c) for c in reply.tool_calls]
        usage = {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        }
        finish = "tool_calls" if calls else "stop"
        if not body.get("stream"):
            message: dict[str, Any] = {"role": "assistant", "content": reply.text}
            if calls:
                message["tool_calls"] = [
                    {"id": cid, "type": "function", "function": {"name": c.name, "arguments": c.json_args()}}
                    for cid, c in calls
                ]
            return JSONResponse(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": 0,
                    "model": model,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": usage,
                }
            )

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
            }
            return f"data: {json.dumps(payload)}\n\n"

        events = [chunk({"role": "assistant", "content": ""})]
        for piece in _pieces(reply.text) if reply.text else []:
            events.append(chunk({"content": piece}))
        for index, (cid, call) in enumerate(calls):
            first, *rest = _halves(call.json_args())
            events.append(
                chunk(
                    {
                        "tool_calls": [
                            {
                                "index": index,
                                "id": cid,
                                "type": "function",
                                "function": {"name": call.name, "arguments": first},
                            }
                        ]
                    }
                )
            )
            for part in rest:
                events.append(chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]}))
        events.append(chunk({}, finish))
        if (body.get("stream_options") or {}).get("include_usage"):
            payload = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [],
                "usage": usage,
            }
            events.append(f"data: {json.dumps(payload)}\n\n")
        events.append("data: [DONE]\n\n")
        return StreamingResponse(self._sse(events, reply), media_type="text/event-stream")

    # --- Anthropic Messages --------------------------------------------------------------------------
    async def _anthropic(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append(body)
        reply = self._next()
        if reply is None or reply.status != 200:
            status = 500 if reply is None else reply.status
            message = "fake LLM: no scripted reply left" if reply is None else f"fake LLM scripted status {status}"
            return JSONResponse(
                {"type": "error", "error": {"type": "api_error", "message": message}}, status_code=status
            )
        model = body.get("model", "fake")
        calls = [(self._call_id(c).replace("call_", "toolu_"), c) for c in reply.tool_calls]
        stop = "tool_use" if calls else "end_turn"
        blocks: list[dict[str, Any]] = []
        if reply.reasoning:
            blocks.append({"type": "thinking", "thinking": reply.reasoning, "signature": "sig"})
        if reply.text:
            blocks.append({"type": "text", "text": reply.text})
        for cid, call in calls:
            args = json.loads(call.json_args())
            blocks.append({"type": "tool_use", "id": cid, "name": call.name, "input": args})
        usage = {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens}
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": blocks,
                    "stop_reason": stop,
                    "stop_sequence": None,
                    "usage": usage,
                }
            )

        def event(kind: str, data: dict[str, Any]) -> str:
            return f"event: {kind}\ndata: {json.dumps({'type': kind, **data})}\n\n"

        events = [
            event(
                "message_start",
                {
                    "message": {
                        "id": "msg_fake",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [],
                        "stop_reason": None,
                        "stop_sequence": None,
                        "usage": {"input_tokens": reply.input_tokens, "output_tokens": 0},
                    }
                },
            )
        ]
        for index, block in enumerate(blocks):
            if block["type"] == "thinking":
                events.append(
                    event(
                        "content_block_start", {"index": index, "content_block": {"type": "thinking", "thinking": ""}}
                    )
                )
                events.append(
                    event(
                        "content_block_delta",
                        {"index": index, "delta": {"type": "thinking_delta", "thinking": block["thinking"]}},
                    )
                )
                events.append(
                    event(
                        "content_block_delta",
                        {"index": index, "delta": {"type": "signature_delta", "signature": "sig"}},
                    )
                )
            elif block["type"] == "text":
                events.append(
                    event("content_block_start", {"index": index, "content_block": {"type": "text", "text": ""}})
                )
                for piece in _pieces(block["text"]):
                    events.append(
                        event("content_block_delta", {"index": index, "delta": {"type": "text_delta", "text": piece}})
                    )
            else:
                events.append(
                    event(
                        "content_block_start",
                        {
                            "index": index,
                            "content_block": {
                                "type": "tool_use",
                                "id": block["id"],
                                "name": block["name"],
                                "input": {},
                            },
                        },
                    )
                )
                for part in _halves(json.dumps(block["input"])):
                    events.append(
                        event(
                            "content_block_delta",
                            {"index": index, "delta": {"type": "input_json_delta", "partial_json": part}},
                        )
                    )
            events.append(event("content_block_stop", {"index": index}))
        events.append(
            event(
                "message_delta",
                {
                    "delta": {"stop_reason": stop, "stop_sequence": None},
                    "usage": {"output_tokens": reply.output_tokens},
                },
            )
        )
        events.append(event("message_stop", {}))
        return StreamingResponse(self._sse(events, reply), media_type="text/event-stream")
