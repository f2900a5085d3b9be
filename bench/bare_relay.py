"""The least a server can do on cargohold's stack: the baseline every throughput figure is divided by.

    uv run python bench/bare_relay.py --port 9200 --llm-base-url http://127.0.0.1:9100/v1

A bare Starlette app served by uvicorn (as cargohold is). Each `POST /` (any JSON body; its
`parts[0].text` is the prompt) streams one chat completion from the LLM with httpx and relays its
tokens as UI-message-stream SSE chunks: `start`, `text-start`, one `text-delta` per token,
`text-end`, `finish`, `[DONE]`. No storage, no agent loop, no broker, no auth.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

__all__ = ["create_app"]

_HEADERS = {"cache-control": "no-cache", "x-vercel-ai-ui-message-stream": "v1", "x-accel-buffering": "no"}


def _sse(chunk: dict[str, object]) -> bytes:
    return b"data: " + json.dumps(chunk, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"


def create_app(llm_base_url: str, model: str) -> Starlette:
    client = httpx.AsyncClient(
        base_url=llm_base_url,
        timeout=120,
        limits=httpx.Limits(max_connections=2000, max_keepalive_connections=2000),
    )

    async def relay(prompt: str) -> AsyncIterator[bytes]:
        yield _sse({"type": "start", "messageId": str(uuid.uuid4())})
        body = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        text_id = "txt-0"
        started = False
        async with client.stream("POST", "/chat/completions", json=body) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                choices = json.loads(line[6:]).get("choices") or []
                delta = choices[0].get("delta", {}).get("content") if choices else None
                if not delta:
                    continue
                if not started:
                    started = True
                    yield _sse({"type": "text-start", "id": text_id})
                yield _sse({"type": "text-delta", "id": text_id, "delta": delta})
        if started:
            yield _sse({"type": "text-end", "id": text_id})
        yield _sse({"type": "finish"})
        yield b"data: [DONE]\n\n"

    async def stream(request: Request) -> StreamingResponse:
        payload = await request.json()
        parts = payload.get("parts") or [{}]
        return StreamingResponse(relay(str(parts[0].get("text", ""))), media_type="text/event-stream", headers=_HEADERS)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    return Starlette(routes=[Route("/", stream, methods=["POST"])], lifespan=lifespan)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9200)
    parser.add_argument("--llm-base-url", default="http://127.0.0.1:9100/v1")
    parser.add_argument("--model", default="gpt-4o-mini")
    args = parser.parse_args()
    uvicorn.run(create_app(args.llm_base_url, args.model), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
