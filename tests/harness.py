"""Test plumbing: serve an app on a real socket, read SSE, wait on conditions."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn

from cargohold.app import create_app
from cargohold.settings import Settings
from cargohold.state import AppState


@dataclass
class Server:
    base_url: str
    state: AppState
    uvicorn: uvicorn.Server


class PromptServer(uvicorn.Server):
    """uvicorn's server, stopped at once: its main loop waits on an event instead of polling
    `should_exit` every 0.1 s (which cost every test a tenth of a second per server it stops)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.stopping = asyncio.Event()

    async def main_loop(self) -> None:
        while not self.should_exit:
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=1.0)
            except TimeoutError:
                await self.on_tick(10)  # the Date header, once a second

    def stop(self) -> None:
        self.should_exit = True
        self.stopping.set()

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        """uvicorn's shutdown, with its fixed 0.1 s pause replaced by waiting (5 ms steps) for what
        it waits for: open connections and running tasks, within the graceful timeout."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 5)
        while (self.server_state.connections or self.server_state.tasks) and loop.time() < deadline:  # noqa: ASYNC110 (uvicorn offers no event)
            await asyncio.sleep(0.005)
        for task in self.server_state.tasks:
            task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


@asynccontextmanager
async def start_server(settings: Settings) -> AsyncIterator[Server]:
    app = create_app(settings)
    # Port 0 through uvicorn itself: a socket bound here and handed over would serve without
    # TCP_NODELAY, adding ~40 ms (Nagle + delayed ACK) to every request.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", timeout_graceful_shutdown=5
    )
    srv = PromptServer(config)
    task = asyncio.create_task(srv.serve())
    await wait_until(lambda: srv.started or task.done(), timeout=20)
    if task.done():
        task.result()
        raise RuntimeError("server stopped during startup")
    port = bound_port(srv)
    try:
        yield Server(f"http://127.0.0.1:{port}", app.state.cargohold, srv)
    finally:
        srv.stop()
        await asyncio.wait_for(task, timeout=20)


def bound_port(srv: uvicorn.Server) -> int:
    return srv.servers[0].sockets[0].getsockname()[1]


async def wait_until(condition: Callable[[], bool] | Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait for a condition with a deadline (checked every few ms): never a fixed sleep.

    A plain condition is checked every 10 ms. An async one (an HTTP request, a query) is checked
    after 10 ms, then less and less often, at least every 50 ms: a long wait no longer spends the
    CPU (hundreds of requests a second, client and server) that the processes it waits on need."""
    deadline = time.monotonic() + timeout
    pause = 0.01
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
            pause_next = min(pause * 1.25, 0.05)
        else:
            pause_next = pause
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout}s")
        await asyncio.sleep(pause)
        pause = pause_next


def parse_sse(text: str) -> list[Any]:
    """The `data:` payloads of an SSE body, JSON-decoded (`[DONE]` stays a string)."""
    out: list[Any] = []
    for event in text.split("\n\n"):
        for line in event.split("\n"):
            if line.startswith("data: "):
                payload = line[len("data: ") :]
                out.append(payload if payload == "[DONE]" else json.loads(payload))
    return out


async def read_stream(response: httpx.Response) -> list[Any]:
    body = ""
    async for text in response.aiter_text():
        body += text
    return parse_sse(body)


def new_uuid() -> str:
    return str(uuid.uuid4())


def stream_body(chat_uuid: str | None = None, text: str = "Hello", **extra: Any) -> dict[str, Any]:
    return {
        "chatUuid": chat_uuid or new_uuid(),
        "parts": [{"type": "text", "text": text}],
        **extra,
    }


async def stream_turn(client: httpx.AsyncClient, body: dict[str, Any]) -> tuple[httpx.Response, list[Any]]:
    async with client.stream("POST", "/v1/ai/messages/stream", json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return response, []
        return response, await read_stream(response)


async def wait_for_status(
    client: httpx.AsyncClient, message_uuid: str, statuses: set[str], timeout: float = 15.0
) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def check() -> bool:
        response = await client.get(f"/v1/ai/messages/{message_uuid}")
        found.update(response.json().get("message", {}))
        return found.get("status") in statuses

    await wait_until(check, timeout)
    return found


def kind(chunk: Any) -> str:
    """A chunk's `type`, or the literal `[DONE]`."""
    return chunk["type"] if isinstance(chunk, dict) else chunk


def text_of(chunks: list[Any]) -> str:
    return "".join(c["delta"] for c in chunks if kind(c) == "text-delta")


class StreamReader:
    """Reads one SSE response incrementally: some chunks now, the rest later."""

    def __init__(self, response: httpx.Response) -> None:
        self._text = response.aiter_text()
        self.raw = ""

    @property
    def chunks(self) -> list[Any]:
        return parse_sse(self.raw)

    async def until(self, count: int, timeout: float = 15.0) -> list[Any]:
        async def read() -> None:
            while len(self.chunks) < count:
                self.raw += await anext(self._text)

        await asyncio.wait_for(read(), timeout)
        return self.chunks

    async def rest(self, timeout: float = 15.0) -> list[Any]:
        """Everything after what `until` returned, to the end of the body."""
        seen = len(self.chunks)

        async def read() -> None:
            async for text in self._text:
                self.raw += text

        await asyncio.wait_for(read(), timeout)
        return self.chunks[seen:]
