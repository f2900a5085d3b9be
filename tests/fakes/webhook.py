"""A webhook receiver on 127.0.0.1 for tool tests: records every call (headers and raw body) and
answers by path.

    /ok        200 {"echo": <input>, "n": <call number>}
    /fail      500 "upstream exploded"
    /garbage   200 "<html>not json</html>"
    /hang      waits until `release` is set or the client goes away (then records it)
    /slow      like /hang, but answers {"late": true} once `release` is set
    /big       200 {"blob": "xxx..."} of `?bytes=N` bytes, streamed in chunks with no Content-Length
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from ..harness import bound_port, wait_until


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Webhook:
    base_url: str = ""
    calls: list[Call] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when a client stopped waiting on /hang."""

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@asynccontextmanager
async def webhook_server() -> AsyncIterator[Webhook]:
    hook = Webhook()

    async def handle(request: Request) -> Response:
        path = request.url.path
        call = Call(path, dict(request.headers), await request.body())
        hook.calls.append(call)
        if path == "/ok":
            return JSONResponse({"echo": call.json["input"], "n": len(hook.calls)})
        if path == "/fail":
            return PlainTextResponse("upstream exploded", status_code=500)
        if path == "/garbage":
            return PlainTextResponse("<html>not json</html>")
        if path == "/big":
            size = int(request.query_params.get("bytes", "1000"))

            async def body() -> AsyncIterator[bytes]:
                yield b'{"blob": "'
                left = size
                while left > 0:
                    piece = min(left, 65536)
                    left -= piece
                    yield b"x" * piece
                yield b'"}'

            return StreamingResponse(body(), media_type="application/json")
        if path in ("/hang", "/slow"):
            waiter = asyncio.ensure_future(hook.release.wait())
            while not waiter.done():
                if await request.is_disconnected():
                    waiter.cancel()
                    hook.gone.set()
                    return Response(status_code=499)
                await asyncio.wait([waiter], timeout=0.05)
            return JSONResponse({"late": True})
        return PlainTextResponse("no such path", status_code=404)

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done(), timeout=10)
    hook.base_url = f"http://127.0.0.1:{bound_port(server)}"
    try:
        yield hook
    finally:
        hook.release.set()
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
