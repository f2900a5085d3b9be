"""The reading side: relay a stream from the broker as Server-Sent Events.

The run does not live in this response: Starlette ends the body generator when the client
disconnects, and that must stop nothing but this relay."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse

from .broker import Broker

__all__ = ["STREAM_HEADERS", "sse_response"]

# The AI SDK's UI_MESSAGE_STREAM_HEADERS (identical in 5.0, 6.0 and 7.0); never compressed.
STREAM_HEADERS = {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "connection": "keep-alive",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}


_ESCAPE_SURROGATES = "backslashreplace"
"""A lone surrogate (from a tool's output, say) is written as its JSON escape `\\ud800`: chunks are
JSON, and it can only sit inside a JSON string. Strict UTF-8 would end the body mid-stream."""


async def _relay(broker: Broker, stream_id: str, after: str | None, keepalive: float) -> AsyncIterator[bytes]:
    # One body write per batch: each write costs an ASGI send and a socket write, per chunk otherwise.
    async for batch in broker.subscribe_batches(stream_id, after=after, idle_timeout=keepalive):
        if batch is None:
            yield b": keep-alive\n\n"
        else:
            # `id:` lets a plain SSE client resume with Last-Event-ID; the AI SDK reads only `data:`.
            text = "".join([f"id: {entry.id}\ndata: {entry.chunk}\n\n" for entry in batch])
            yield text.encode("utf-8", _ESCAPE_SURROGATES)


def sse_response(broker: Broker, stream_id: str, *, after: str | None, keepalive: float) -> StreamingResponse:
    return StreamingResponse(_relay(broker, stream_id, after, keepalive), headers=STREAM_HEADERS)
