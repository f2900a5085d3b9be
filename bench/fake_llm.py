"""A cheap fake OpenAI-compatible chat-completions server for benchmarks.

    uv run python bench/fake_llm.py --port 9100 --tokens 50 --tps 0 --ttft-ms 0

`POST /v1/chat/completions`, streamed (SSE, `stream: true`) or not. Every reply is the same text
of `--tokens` tokens (`full_text(tokens)`), so a benchmark can check what was stored. The last
streamed chunk carries `usage` when the request asks for it (`stream_options.include_usage`).

It shares the CPU with the server under test, so it does as little as it can: plain asyncio
streams (no web framework), and every streamed chunk is encoded once per model name, already
framed for HTTP/1.1 chunked transfer. `--tps 0` writes the whole reply at once after
`--ttft-ms`; otherwise token i goes out at ttft + i / tps (absolute schedule, no drift).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FakeLLMConfig", "full_text", "serve", "token_texts"]

_CREATED = 1_700_000_000
_ID = "chatcmpl-bench"


def token_texts(tokens: int) -> list[str]:
    """The reply, token by token (about four characters each, like real tokens)."""
    return [f" t{i:03d}" if i else "t000" for i in range(tokens)]


def full_text(tokens: int) -> str:
    return "".join(token_texts(tokens))


@dataclass(frozen=True, slots=True)
class FakeLLMConfig:
    tokens: int = 50
    tps: float = 0.0
    """Tokens per second; 0 = as fast as the socket takes them."""
    ttft_ms: float = 0.0


def _frame(payload: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(payload), payload)


def _sse(obj: dict[str, Any] | str) -> bytes:
    text = obj if isinstance(obj, str) else json.dumps(obj, separators=(",", ":"))
    return _frame(f"data: {text}\n\n".encode())


@dataclass
class _Encoded:
    """A model's streamed reply, pre-encoded: role chunk, one chunk per token, the finish chunk."""

    head: bytes
    tokens: list[bytes]
    tail: bytes
    body_json: dict[str, Any] = field(default_factory=dict)


class FakeLLM:
    def __init__(self, config: FakeLLMConfig) -> None:
        self.config = config
        self.texts = token_texts(config.tokens)
        self._encoded: dict[str, _Encoded] = {}
        self.requests = 0

    def encoded(self, model: str) -> _Encoded:
        found = self._encoded.get(model)
        if found is None:
            found = self._encoded[model] = self._encode(model)
        return found

    def _encode(self, model: str) -> _Encoded:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return {
                "id": _ID,
                "object": "chat.completion.chunk",
                "created": _CREATED,
                "model": model,
                "choices": [choice],
            }

        return _Encoded(
            head=_sse(chunk({"role": "assistant", "content": ""})),
            tokens=[_sse(chunk({"content": text})) for text in self.texts],
            tail=_sse(chunk({}, "stop")),
        )

    def usage(self, body: dict[str, Any]) -> dict[str, int]:
        prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages") or []) // 4 + 1
        total = prompt + self.config.tokens
        return {"prompt_tokens": prompt, "completion_tokens": self.config.tokens, "total_tokens": total}

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    async def _one_request(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        raw = await reader.readexactly(length) if length else b""
        keep_alive = headers.get("connection", "").lower() != "close"
        if method != "POST" or not path.endswith("/chat/completions"):
            await self._respond(writer, 404, b'{"error":{"message":"not found"}}', keep_alive)
            return keep_alive
        self.requests += 1
        body = json.loads(raw or b"{}")
        model = str(body.get("model") or "fake")
        if body.get("stream"):
            await self._stream(writer, body, model)
        else:
            await self._complete(writer, body, model, keep_alive)
        return keep_alive

    async def _respond(self, writer: asyncio.StreamWriter, status: int, payload: bytes, keep_alive: bool) -> None:
        reason = {200: "OK", 404: "Not Found"}[status]
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(payload)}\r\n"
            f"connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n".encode()
            + payload
        )
        await writer.drain()

    async def _complete(self, writer: asyncio.StreamWriter, body: dict[str, Any], model: str, keep_alive: bool) -> None:
        if self.config.ttft_ms:
            await asyncio.sleep(self.config.ttft_ms / 1000)
        reply = {
            "id": _ID,
            "object": "chat.completion",
            "created": _CREATED,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(self.texts)},
                    "finish_reason": "stop",
                }
            ],
            "usage": self.usage(body),
        }
        await self._respond(writer, 200, json.dumps(reply, separators=(",", ":")).encode(), keep_alive)

    async def _stream(self, writer: asyncio.StreamWriter, body: dict[str, Any], model: str) -> None:
        encoded = self.encoded(model)
        tail = encoded.tail
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"id": _ID, "object": "chat.completion.chunk", "created": _CREATED, "model": model}
            tail += _sse({**usage, "choices": [], "usage": self.usage(body)})
        tail += _sse("[DONE]") + b"0\r\n\r\n"
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
            b"transfer-encoding: chunked\r\n\r\n"
        )
        started = time.monotonic()
        ttft = self.config.ttft_ms / 1000
        if ttft:
            await writer.drain()
            await asyncio.sleep(ttft)
        if not self.config.tps:
            writer.write(b"".join([encoded.head, *encoded.tokens, tail]))
            await writer.drain()
            return
        interval = 1 / self.config.tps
        writer.write(encoded.head)
        for i, token in enumerate(encoded.tokens):
            delay = started + ttft + i * interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            writer.write(token)
            await writer.drain()
        writer.write(tail)
        await writer.drain()


async def serve(config: FakeLLMConfig, host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    """Start serving in the running loop; the bound port is `server.sockets[0].getsockname()[1]`."""
    llm = FakeLLM(config)
    return await asyncio.start_server(llm.handle, host, port, backlog=4096)


async def _main(args: argparse.Namespace) -> None:
    config = FakeLLMConfig(tokens=args.tokens, tps=args.tps, ttft_ms=args.ttft_ms)
    server = await serve(config, args.host, args.port)
    port = server.sockets[0].getsockname()[1]
    print(f"fake LLM on http://{args.host}:{port}/v1 ({config})", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100, help="0 = any free port (printed)")
    parser.add_argument("--tokens", type=int, default=50, help="tokens per reply")
    parser.add_argument("--tps", type=float, default=0.0, help="tokens per second per stream; 0 = unbounded")
    parser.add_argument("--ttft-ms", type=float, default=0.0, help="time to first token, ms")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
