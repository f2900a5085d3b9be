"""A fake SearXNG (and a few web pages) on 127.0.0.1, for the `webSearch` capability's tests.

    async with FakeSearXNG() as web:
        settings = make_settings(searxng_url=web.base_url, allow_private_urls="127.0.0.1")

`GET /search?q=...&format=json` answers SearXNG's JSON shape with `RESULTS` (their URLs point at
this server's pages) and records each query in `queries`. Pages: `/page` (HTML with a script, a
style and a title), `/redirect?to=URL` (a 302 to URL), `/big` (more bytes than a fetch reads).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..harness import PromptServer, wait_until

PAGE = """<!doctype html><html><head><title>Cargo holds</title>
<style>.secret-style { color: red }</style>
<script>var leaked = "script text";</script></head>
<body><h1>Cargo holds</h1><p>A hold keeps <b>cargo</b> dry.</p><noscript>enable js</noscript></body></html>"""


class FakeSearXNG:
    def __init__(self) -> None:
        self.queries: list[str] = []
        self.port = 0
        self._sock: socket.socket | None = None
        self._server: PromptServer | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def results(self) -> list[dict[str, Any]]:
        return [
            {"title": "Cargo holds", "url": f"{self.base_url}/page", "content": "A hold keeps cargo dry."},
            {"title": "Bulk carriers", "url": "https://example.org/bulk", "content": "Ships  that carry\ngrain."},
            {"title": "no url", "content": "dropped: a result without a URL"},
        ]

    async def __aenter__(self) -> FakeSearXNG:
        app = Starlette(
            routes=[
                Route("/search", self._search),
                Route("/page", lambda request: HTMLResponse(PAGE)),
                Route("/redirect", self._redirect),
                Route("/big", lambda request: Response(b"x" * 5_000_000, media_type="text/plain")),
            ]
        )
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        server = self._server = PromptServer(uvicorn.Config(app, log_level="warning", lifespan="off"))
        task = self._task = asyncio.create_task(server.serve(sockets=[self._sock]))
        await wait_until(lambda: server.started or task.done(), timeout=10)
        if task.done():
            task.result()
            raise RuntimeError("fake SearXNG stopped during startup")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None and self._task is not None:
            self._server.stop()
            await asyncio.wait_for(self._task, timeout=10)
        if self._sock is not None:
            self._sock.close()

    async def _search(self, request: Request) -> Response:
        if request.query_params.get("format") != "json":
            return Response("format not allowed", status_code=403)
        query = request.query_params.get("q", "")
        self.queries.append(query)
        return JSONResponse({"query": query, "results": self.results()})

    async def _redirect(self, request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)
