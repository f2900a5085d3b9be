"""A fake OpenAI-compatible and Anthropic-compatible model server on 127.0.0.1 that streams scripted
replies, so tests run the real provider client code over real HTTP.

    async with FakeLLM() as llm:
        llm.script(Reply(tool_calls=[ToolCall("lookup_order", {"order_id": "A-17"})]), Reply(text="Shipped."))
        provider = OpenAIProvider(base_url=llm.openai_base_url, api_key="test")
        ...
        assert llm.requests[1]["messages"][-1]["role"] == "tool"

Routes: `POST /v1/chat/completions` (OpenAI Chat Completions), `POST /v1/messages` (Anthropic Messages) and
`POST /v1beta/models/{model}:generateContent` / `:streamGenerateContent?alt=sse` (Gemini), each streamed
(server-sent events) or not, as the request asks; and the model lists `GET /v1/models` (OpenAI's shape, or
Anthropic's when the request carries `x-api-key`) and `GET /v1beta/models` (Gemini's).

With `api_key` set, a request carrying another key (`Authorization: Bearer`, `x-api-key`, `x-goog-api-key`) is
refused as each provider refuses a bad key; `keys` records the key of every request.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Send

from ..harness import PromptServer, wait_until

NO_REPLY_LEFT = "fake LLM: no scripted reply left"


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any] | str
    """A dict is sent as its JSON; a string is sent as it is (so it may be invalid JSON on purpose)."""
    id: str | None = None
    """Defaults to `call_<n>`, numbered per FakeLLM from 1."""

    @property
    def arguments_json(self) -> str:
        return self.arguments if isinstance(self.arguments, str) else json.dumps(self.arguments)


@dataclass
class Reply:
    text: str | None = None
    """Streamed three words at a time."""
    tool_calls: list[ToolCall] = field(default_factory=list)
    """Streamed after the text: each call's name and id first, then its JSON arguments in two halves."""
    reasoning: str | None = None
    """Anthropic: a thinking block before the text. OpenAI: `reasoning_content` deltas (as DeepSeek sends)."""
    input_tokens: int = 10
    output_tokens: int = 5
    status: int = 200
    """Anything else answers with that status and an error body in the provider's shape."""
    error_message: str | None = None
    """The message of that error body; defaults to "fake LLM: scripted error <status>"."""
    cut_after_chunks: int | None = None
    """Close the connection after this many SSE events, without ending the body (a cut stream). A non-streamed
    reply counts its JSON body as one event, so 0 cuts it right after the headers."""
    hang: bool = False
    """Send the headers and the events up to the first content delta (none for a non-streamed reply), then wait
    until the client goes away (which sets `FakeLLM.disconnected`) or the fake stops (which cuts the reply)."""
    delay: float = 0.0
    """Seconds between streamed events."""
    first_delay: float = 0.0
    """Seconds before the first streamed event (after the headers): a slow time to first token. A non-streamed
    reply waits as long before its JSON body (after the headers)."""
    server_blocks: list[dict[str, Any]] = field(default_factory=list)
    """Anthropic only: content blocks the provider ran itself (`server_tool_use`, `web_search_tool_result`), sent
    before the text; a `server_tool_use` block's input is streamed as one `input_json_delta`."""
    match: str | None = None
    """Taken only by a request whose JSON body contains this string (e.g. a sub-agent's system prompt, or the
    user's text of the turn that calls it): a request takes the first queued reply that it matches, so replies
    meant for concurrent callers (a turn and its sub-agent) cannot be swapped. None: any request takes it."""


class FakeLLM:
    def __init__(self, default: Reply | None = None) -> None:
        self.queue: list[Reply] = []
        """Scripted replies not used yet, next first."""
        self.default = default
        """Answers when the queue is empty; without one such a request gets a 500 saying NO_REPLY_LEFT."""
        self.requests: list[dict[str, Any]] = []
        """Every request's JSON body, in order of arrival, whichever API it went to."""
        self.disconnected = asyncio.Event()
        """Set when a client goes away before its (streamed, delayed or hanging) reply is complete."""
        self.port = 0
        self.api_key: str | None = None
        """When set, requests with another key are refused (401; Gemini: 400 API_KEY_INVALID)."""
        self.keys: list[str | None] = []
        """The key each request carried (model lists included), in order of arrival."""
        self.models: list[str] = ["gpt-test"]
        """What the model lists answer."""
        self._call_ids = 0
        self._stopping = asyncio.Event()
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def openai_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gemini_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget the last test: its script, default, requests and call ids; let go of its hanging replies
        (a fake shared by many tests is reset before and after each)."""
        self._stopping.set()
        self._stopping = asyncio.Event()
        self.disconnected = asyncio.Event()
        self.queue = []
        self.default = None
        self.requests = []
        self._call_ids = 0
        self.api_key = None
        self.keys = []
        self.models = ["gpt-test"]

    def script(self, *replies: Reply) -> None:
        """Queue replies; each request (to any API) takes the first one it matches (`Reply.match`): the next one,
        when no reply has a `match`."""
        self.queue.extend(replies)

    async def __aenter__(self) -> FakeLLM:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/v1/messages", self._anthropic, methods=["POST"]),
                Route("/v1/models", self._list_models, methods=["GET"]),
                Route("/v1beta/models", self._gemini_models, methods=["GET"]),
                Route("/v1beta/models/{target:path}", self._gemini, methods=["POST"]),
            ]
        )
        self._stopping.clear()
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP, and a
        # plain socket.socket() says 0, which would stall every streamed event ~40 ms (Nagle + delayed ACK).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
        server = self._server = PromptServer(config)
        task = self._task = asyncio.create_task(server.serve(sockets=[self._sock]))
        await wait_until(lambda: server.started or task.done(), timeout=10)
        if task.done():
            task.result()  # raises what stopped it
            raise RuntimeError("fake LLM stopped during startup")

    async def stop(self) -> None:
        self._stopping.set()  # releases hanging replies, so their connections can close
        if self._server is not None and self._task is not None:
            self._server.stop()
            await asyncio.wait_for(self._task, timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._task = self._sock = None

    # --- both APIs ----------------------------------------------------------------------------------

    async def _take(self, request: Request) -> tuple[dict[str, Any], Reply | None]:
        body = await request.json()
        self.requests.append(body)
        if not self._key_ok(request):
            return body, Reply(status=401, error_message="fake LLM: invalid API key")
        return body, self._next(body)

    def _next(self, body: dict[str, Any]) -> Reply | None:
        """The first queued reply the request matches (taken off the queue), else the default."""
        text: str | None = None
        for i, reply in enumerate(self.queue):
            if reply.match is not None:
                if text is None:
                    text = json.dumps(body, ensure_ascii=False)
                if reply.match not in text:
                    continue
            return self.queue.pop(i)
        return self.default

    def _key_ok(self, request: Request) -> bool:
        headers = request.headers
        bearer = headers.get("authorization", "")
        key = headers.get("x-api-key") or headers.get("x-goog-api-key") or bearer.removeprefix("Bearer ") or None
        self.keys.append(key)
        return self.api_key is None or key == self.api_key

    # --- model lists --------------------------------------------------------------------------------

    async def _list_models(self, request: Request) -> Response:
        anthropic = "x-api-key" in request.headers
        if not self._key_ok(request):
            if anthropic:
                error = {"type": "authentication_error", "message": "invalid x-api-key"}
                return JSONResponse({"type": "error", "error": error}, status_code=401)
            error = {
                "message": "Incorrect API key provided",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
            return JSONResponse({"error": {**error, "param": None}}, status_code=401)
        if anthropic:
            data = [
                {"type": "model", "id": m, "display_name": m.title(), "created_at": "2025-01-01T00:00:00Z"}
                for m in self.models
            ]
            first, last = (self.models[0], self.models[-1]) if self.models else (None, None)
            return JSONResponse({"data": data, "has_more": False, "first_id": first, "last_id": last})
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return JSONResponse({"object": "list", "data": data})

    async def _gemini_models(self, request: Request) -> Response:
        if not self._key_ok(request):
            return _gemini_error(400, "API key not valid. Please pass a valid API key.")
        models = [
            {
                "name": f"models/{m}",
                "displayName": m.title(),
                "description": f"fake {m}",
                "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 65_536,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            }
            for m in self.models
        ]
        return JSONResponse({"models": models})

    # --- Gemini generateContent ---------------------------------------------------------------------

    async def _gemini(self, request: Request) -> Response:
        model, _, method = request.path_params["target"].partition(":")
        body = await request.json()
        self.requests.append(body)
        if not self._key_ok(request):
            return _gemini_error(400, "API key not valid. Please pass a valid API key.")
        reply = self._next(body)
        if reply is None or reply.status != 200:
            status = 500 if reply is None else reply.status
            return _gemini_error(status, NO_REPLY_LEFT if reply is None else _error_message(reply))
        usage = {
            "promptTokenCount": reply.input_tokens,
            "candidatesTokenCount": reply.output_tokens,
            "totalTokenCount": reply.input_tokens + reply.output_tokens,
        }

        def candidate(parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
            out: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
            if finish:
                out["finishReason"] = finish
            return out

        calls = [{"functionCall": {"name": c.name, "args": _json_or_raw(c)}} for c in reply.tool_calls]
        text = [{"text": reply.text}] if reply.text else []
        complete = {"candidates": [candidate(text + calls, "STOP")], "usageMetadata": usage, "modelVersion": model}
        if method != "streamGenerateContent":
            return self._respond(reply, {}, [], hang_at=0, complete=complete)
        pieces = [[{"text": piece}] for piece in _words(reply.text)] + [[call] for call in calls]
        events = [_data({"candidates": [candidate(parts, None)], "modelVersion": model}) for parts in pieces[:-1]]
        last = pieces[-1] if pieces else [{"text": ""}]
        events.append(_data({"candidates": [candidate(last, "STOP")], "usageMetadata": usage, "modelVersion": model}))
        return self._respond(reply, {"stream": True}, events, hang_at=1, complete=complete)

    def _call_id(self, call: ToolCall) -> str:
        if call.id is not None:
            return call.id
        self._call_ids += 1
        return f"call_{self._call_ids}"

    def _respond(
        self, reply: Reply, body: dict[str, Any], events: list[str], *, hang_at: int, complete: dict[str, Any]
    ) -> Response:
        """`events` when the request asked for a stream, else the `complete` JSON body."""
        if body.get("stream"):
            return _Playback(self, reply, events, hang_at=hang_at, media_type="text/event-stream")
        if reply.hang or reply.cut_after_chunks is not None or reply.first_delay:
            return _Playback(self, reply, [json.dumps(complete)], hang_at=0, media_type="application/json")
        return JSONResponse(complete)

    # --- OpenAI Chat Completions --------------------------------------------------------------------

    async def _openai(self, request: Request) -> Response:
        body, reply = await self._take(request)
        if reply is None or reply.status != 200:
            status = 500 if reply is None else reply.status
            message = NO_REPLY_LEFT if reply is None else _error_message(reply)
            error_type, code = _OPENAI_ERRORS.get(
                status, ("invalid_request_error" if status < 500 else "server_error", None)
            )
            error = {"message": message, "type": error_type, "param": None, "code": code}
            return JSONResponse({"error": error}, status_code=status)

        model = body.get("model", "fake")
        calls = [(self._call_id(call), call) for call in reply.tool_calls]
        finish_reason = "tool_calls" if calls else "stop"
        usage = {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        }
        head = {"id": "chatcmpl-fake", "created": 0, "model": model}

        message: dict[str, Any] = {"role": "assistant", "content": reply.text}
        if reply.reasoning:
            message["reasoning_content"] = reply.reasoning
        if calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": call.name, "arguments": call.arguments_json}}
                for cid, call in calls
            ]
        complete = {
            **head,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": usage,
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return _data({**head, "object": "chat.completion.chunk", "choices": [choice]})

        deltas: list[dict[str, Any]] = []
        deltas += [{"reasoning_content": piece} for piece in _words(reply.reasoning)]
        deltas += [{"content": piece} for piece in _words(reply.text)]
        for index, (cid, call) in enumerate(calls):
            first, *rest = _halves(call.arguments_json)
            function = {"name": call.name, "arguments": first}
            deltas.append({"tool_calls": [{"index": index, "id": cid, "type": "function", "function": function}]})
            deltas += [{"tool_calls": [{"index": index, "function": {"arguments": part}}]} for part in rest]

        events = [chunk({"role": "assistant", "content": ""})]
        events += [chunk(delta) for delta in deltas]
        events.append(chunk({}, finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(_data({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage}))
        events.append("data: [DONE]\n\n")
        # Hang after the role chunk and the first delta.
        return self._respond(reply, body, events, hang_at=2 if deltas else 1, complete=complete)

    # --- Anthropic Messages -------------------------------------------------------------------------

    async def _anthropic(self, request: Request) -> Response:
        body, reply = await self._take(request)
        if reply is None or reply.status != 200:
            status = 500 if reply is None else reply.status
            message = NO_REPLY_LEFT if reply is None else _error_message(reply)
            error_type = _ANTHROPIC_ERRORS.get(status, "invalid_request_error" if status < 500 else "api_error")
            return JSONResponse(
                {"type": "error", "error": {"type": error_type, "message": message}}, status_code=status
            )

        model = body.get("model", "fake")
        calls = [(self._call_id(call), call) for call in reply.tool_calls]
        stop_reason = "tool_use" if calls else "end_turn"
        message = {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "stop_sequence": None,
        }

        blocks: list[dict[str, Any]] = []  # the complete content blocks
        streamed: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []  # each block's start and its deltas
        if reply.reasoning:
            blocks.append({"type": "thinking", "thinking": reply.reasoning, "signature": "fake-signature"})
            deltas = [{"type": "thinking_delta", "thinking": piece} for piece in _words(reply.reasoning)]
            deltas.append({"type": "signature_delta", "signature": "fake-signature"})
            streamed.append(({"type": "thinking", "thinking": "", "signature": ""}, deltas))
        for server_block in reply.server_blocks:
            blocks.append(server_block)
            if server_block.get("type") == "server_tool_use":
                delta = {"type": "input_json_delta", "partial_json": json.dumps(server_block.get("input", {}))}
                streamed.append(({**server_block, "input": {}}, [delta]))
            else:
                streamed.append((server_block, []))
        if reply.text:
            blocks.append({"type": "text", "text": reply.text})
            deltas = [{"type": "text_delta", "text": piece} for piece in _words(reply.text)]
            streamed.append(({"type": "text", "text": ""}, deltas))
        for cid, call in calls:
            blocks.append({"type": "tool_use", "id": cid, "name": call.name, "input": _json_or_raw(call)})
            deltas = [{"type": "input_json_delta", "partial_json": part} for part in _halves(call.arguments_json)]
            streamed.append(({"type": "tool_use", "id": cid, "name": call.name, "input": {}}, deltas))
        complete = {
            **message,
            "content": blocks,
            "stop_reason": stop_reason,
            "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
        }

        start_usage = {"input_tokens": reply.input_tokens, "output_tokens": 0}
        start = {**message, "content": [], "stop_reason": None, "usage": start_usage}
        events = [_event("message_start", message=start)]
        for index, (block, deltas) in enumerate(streamed):
            events.append(_event("content_block_start", index=index, content_block=block))
            events += [_event("content_block_delta", index=index, delta=delta) for delta in deltas]
            events.append(_event("content_block_stop", index=index))
        end = {"stop_reason": stop_reason, "stop_sequence": None}
        events.append(_event("message_delta", delta=end, usage={"output_tokens": reply.output_tokens}))
        events.append(_event("message_stop"))
        # Hang after message_start, the first block's start and its first delta.
        return self._respond(reply, body, events, hang_at=3 if streamed else 1, complete=complete)


class _Playback(StreamingResponse):
    """Plays prepared events (SSE, or one JSON body) as the reply says: delayed, paced, hanging, or cut short. A
    cut (or a hang the stopping fake lets go of) leaves the chunked body unfinished, so uvicorn drops the
    connection and logs "ASGI callable returned without completing response"."""

    def __init__(self, llm: FakeLLM, reply: Reply, events: list[str], *, hang_at: int, media_type: str) -> None:
        # The events of the test that asked: a reply still playing when a shared fake is reset reports to them.
        self._stopping = llm._stopping
        self._disconnected = llm.disconnected
        self._reply = reply
        self._hang_at = hang_at if reply.hang else None
        self._finished = False
        super().__init__(self._play(events), media_type=media_type)

    async def _play(self, events: list[str]) -> AsyncIterator[str]:
        cut = self._reply.cut_after_chunks
        try:
            for i, event in enumerate(events if cut is None else events[:cut]):
                if i == self._hang_at:
                    await self._stopping.wait()
                    return
                if i and self._reply.delay:
                    await asyncio.sleep(self._reply.delay)
                elif not i and self._reply.first_delay:
                    await asyncio.sleep(self._reply.first_delay)
                yield event
        except (asyncio.CancelledError, GeneratorExit):
            # Starlette cancels the response when the client disconnects (ASGI spec < 2.4, as uvicorn speaks).
            if not self._stopping.is_set():
                self._disconnected.set()
            raise
        self._finished = cut is None

    async def stream_response(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        async for event in self.body_iterator:
            await send({"type": "http.response.body", "body": str(event).encode(), "more_body": True})
        if self._finished:
            await send({"type": "http.response.body", "body": b"", "more_body": False})


_OPENAI_ERRORS: dict[int, tuple[str, str | None]] = {
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}
"""(type, code) of OpenAI's error bodies by status, where they differ from invalid_request_error/server_error."""

# https://docs.anthropic.com/en/api/errors
_ANTHROPIC_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


_GEMINI_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 429: "RESOURCE_EXHAUSTED"}


def _gemini_error(status: int, message: str) -> Response:
    error = {"code": status, "message": message, "status": _GEMINI_STATUS.get(status, "INTERNAL")}
    return JSONResponse({"error": error}, status_code=status)


def _error_message(reply: Reply) -> str:
    return reply.error_message or f"fake LLM: scripted error {reply.status}"


def _data(payload: dict[str, Any]) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def _event(kind: str, **fields: Any) -> str:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n"


def _words(text: str | None) -> list[str]:
    """ "a b c d e" -> ["a b c ", "d e"]."""
    if not text:
        return []
    words = text.split(" ")
    pieces = [" ".join(words[i : i + 3]) for i in range(0, len(words), 3)]
    return [piece + " " for piece in pieces[:-1]] + pieces[-1:]


def _halves(text: str) -> list[str]:
    if len(text) < 2:
        return [text]
    half = len(text) // 2
    return [text[:half], text[half:]]


def _json_or_raw(call: ToolCall) -> Any:
    if isinstance(call.arguments, dict):
        return call.arguments
    try:
        return json.loads(call.arguments)
    except ValueError:
        return call.arguments
