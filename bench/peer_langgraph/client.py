"""One chat turn against the LangGraph peer (`run.sh`): create a thread, stream a run of the `chat`
graph with `stream_mode="messages-tuple"`, count the model's content chunks.

    async with httpx.AsyncClient(timeout=60) as http:
        ttft, chunks = await langgraph_turn(http, "http://127.0.0.1:8123", "Hello")

`python bench/peer_langgraph/client.py http://127.0.0.1:8123` runs one turn and prints the result.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx

__all__ = ["ASSISTANT_ID", "LangGraphError", "langgraph_turn"]

ASSISTANT_ID = "chat"
"""The graph's name in langgraph.json: the agent server registers it as an assistant of that id."""


class LangGraphError(RuntimeError):
    """The run reported an error, or its stream was not what a run's stream looks like."""


def _content(chunk: Any) -> bool:
    """Whether a message chunk carries model output (text, or content blocks)."""
    if not isinstance(chunk, dict):
        raise LangGraphError(f"unexpected messages payload: {chunk!r:.200}")
    content = chunk.get("content")
    if isinstance(content, str):
        return bool(content)
    if isinstance(content, list):
        return any(block for block in content if block)
    return False


async def langgraph_turn(http: httpx.AsyncClient, base_url: str, text: str) -> tuple[float | None, int]:
    """One turn: `POST /threads`, then `POST /threads/{id}/runs/stream`.

    Returns (seconds from sending the run request to the first content chunk, or None when the
    model sent none; the number of content chunks). Thread creation is not in the first figure.
    Raises on an HTTP error status, an `error` event, or a stream with no `metadata` event."""
    base = base_url.rstrip("/")
    response = await http.post(f"{base}/threads", json={})
    response.raise_for_status()
    thread_id = response.json()["thread_id"]
    body = {
        "assistant_id": ASSISTANT_ID,
        "input": {"messages": [{"role": "user", "content": text}]},
        "stream_mode": "messages-tuple",
    }
    first: float | None = None
    chunks = 0
    saw_metadata = False
    event = "message"
    data: list[str] = []
    sent = time.perf_counter()
    async with http.stream("POST", f"{base}/threads/{thread_id}/runs/stream", json=body) as stream:
        if stream.status_code >= 400:
            await stream.aread()
            raise LangGraphError(f"runs/stream answered {stream.status_code}: {stream.text[:500]}")
        async for line in stream.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
            elif line == "" and data:
                payload = json.loads("\n".join(data))
                data = []
                if event == "error":
                    raise LangGraphError(f"run failed: {json.dumps(payload)[:500]}")
                if event == "metadata":
                    saw_metadata = True
                elif event == "messages" and _content(payload[0]):
                    chunks += 1
                    if first is None:
                        first = time.perf_counter() - sent
                event = "message"
    if not saw_metadata:
        raise LangGraphError("the run's stream ended without its metadata event")
    return first, chunks


async def _main(base_url: str, text: str) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        ttft, chunks = await langgraph_turn(http, base_url, text)
    print(f"first content chunk after {ttft * 1000 if ttft is not None else float('nan'):.1f} ms, {chunks} chunks")


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8123", "Hello"))
