"""A fake SearXNG (and a few web pages) on 127.0.0.1, for the `webSearch` capability's tests.

    async with FakeSearXNG() as web:
        settings = make_settings(searxng_url=web.base_url, allow_private_urls="127.0.0.1")

It also speaks Brave Search's (`GET /res/v1/web/search`, key in `X-Subscription-Token`) and
Tavily's (`POST /search` JSON, key as `Authorization: Bearer` or the body's `api_key`) wire formats
with the same results: give `brave_url=web.base_url, brave_api_key=BRAVE_KEY` (or Tavily's); a
wrong key is a 401. `keys` records the keys each received.

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


BRAVE_KEY = "brave-secret-key-4711"
TAVILY_KEY = "tvly-secret-key-4712"


class FakeSearXNG:
    def __init__(self) -> None:
        self.queries: list[str] = []
        self.keys: list[tuple[str, str]] = []
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
                Route("/search", self._search, methods=["GET"]),
                Route("/search", self._tavily, methods=["POST"]),
                Route("/res/v1/web/search", self._brave),
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

    async def _brave(self, request: Request) -> Response:
        key = request.headers.get("x-subscription-token", "")
        self.keys.append(("brave", key))
        if key != BRAVE_KEY:
            return JSONResponse({"type": "ErrorResponse", "error": {"code": "SUBSCRIPTION_TOKEN_INVALID"}}, 401)
        query = request.query_params.get("q", "")
        self.queries.append(query)
        count = int(request.query_params.get("count", "20"))
        web = [{"title": r.get("title"), "url": r.get("url"), "description": r["content"]} for r in self.results()]
        return JSONResponse({"type": "search", "query": {"original": query}, "web": {"results": web[:count]}})

    async def _tavily(self, request: Request) -> Response:
        body = await request.json()
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else str(body.get("api_key", ""))
        self.keys.append(("tavily", key))
        if key != TAVILY_KEY:
            return JSONResponse({"detail": {"error": "Unauthorized: missing or invalid API key."}}, 401)
        query = str(body.get("query", ""))
        self.queries.append(query)
        results = [
            {"title": r.get("title"), "url": r.get("url"), "content": r["content"], "score": 0.9}
            for r in self.results()
        ]
        return JSONResponse({"query": query, "results": results[: int(body.get("max_results", 5))]})

    async def _redirect(self, request: Request) -> Response:
        return RedirectResponse(request.query_params["to"], status_code=302)
