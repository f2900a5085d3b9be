"""Real MCP servers for tests, served by uvicorn on 127.0.0.1 (port 0) in the test's event loop.

`McpTestServer` serves an `MCPServer` (the official `mcp` package) over streamable HTTP at `/mcp`
and SSE at `/sse`, with tools `add`, `slow`, `fail` and `secret_tool` (and `files.read` with
`odd_names=True`). With `oauth=True` the MCP endpoints require a bearer token, and the server is
also its own OAuth authorization server: RFC 9728 protected-resource metadata, RFC 8414
authorization-server metadata and a token endpoint that counts refresh grants, rotates tokens and
can refuse a refresh token (`invalid_grant`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from starlette.types import ASGIApp, Receive, Scope, Send

from ..harness import wait_until

__all__ = ["McpTestServer", "OAuthState", "serve_mcp"]


def build_mcp(release: asyncio.Event, slow_started: asyncio.Event, *, odd_names: bool = False) -> MCPServer:
    mcp = MCPServer(name="test-tools")

    @mcp.tool(description="Add two integers.")
    def add(a: int, b: int) -> int:
        return a + b

    @mcp.tool(description="Wait until the test releases it.")
    async def slow() -> str:
        slow_started.set()
        await release.wait()
        return "done"

    @mcp.tool(description="Always fails.")
    def fail(reason: str = "boom") -> str:
        raise ToolError(f"it failed: {reason}")

    if odd_names:

        @mcp.tool(name="files.read", description="A name some providers refuse as is.")
        def files_read(path: str) -> str:
            return f"contents of {path}"

    @mcp.tool(description="A tool a client may disable.")
    def secret_tool() -> str:
        return "secret"

    return mcp


@dataclass
class OAuthState:
    """The authorization server's books. Access tokens in `valid` are accepted by `/mcp`."""

    valid: set[str] = field(default_factory=lambda: {"at-0"})
    refresh_tokens: set[str] = field(default_factory=lambda: {"rt-0"})
    refresh_calls: int = 0
    refused_refresh: set[str] = field(default_factory=set)
    """Refresh tokens answered with `invalid_grant`."""
    expires_in: int = 3600
    seen_forms: list[dict[str, str]] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def refresh(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.refresh_calls += 1
        self.seen_forms.append(form)
        token = form.get("refresh_token", "")
        if form.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        if token in self.refused_refresh or token not in self.refresh_tokens:
            return 400, {"error": "invalid_grant", "error_description": "refresh token revoked"}
        n = next(self._counter)
        self.refresh_tokens.discard(token)
        self.refresh_tokens.add(f"rt-{n}")
        self.valid.add(f"at-{n}")
        body = {"access_token": f"at-{n}", "token_type": "Bearer", "expires_in": self.expires_in}
        return 200, {**body, "refresh_token": f"rt-{n}"}


async def _json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": payload})


async def _body(receive: Receive) -> bytes:
    chunks = b""
    while True:
        message = await receive()
        chunks += message.get("body", b"")
        if not message.get("more_body"):
            return chunks


class _OAuthGate:
    """ASGI wrapper: OAuth metadata and token endpoints, and a bearer check in front of MCP."""

    def __init__(self, app: ASGIApp, state: OAuthState, base_url: list[str]) -> None:
        self.app = app
        self.state = state
        self.base_url = base_url  # filled in once the port is known

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        base, path = self.base_url[0], scope["path"]
        if path.startswith("/.well-known/oauth-protected-resource"):
            return await _json(send, 200, {"resource": f"{base}/mcp", "authorization_servers": [f"{base}/auth"]})
        if path == "/.well-known/oauth-authorization-server/auth":
            meta = {"issuer": f"{base}/auth", "token_endpoint": f"{base}/auth/token"}
            return await _json(send, 200, {**meta, "grant_types_supported": ["refresh_token"]})
        if path == "/auth/token":
            form = {k: v[0] for k, v in parse_qs((await _body(receive)).decode()).items()}
            status, body = self.state.refresh(form)
            return await _json(send, status, body)
        headers = dict(scope["headers"])
        token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
        if token not in self.state.valid:
            meta = f'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"'
            return await _json(send, 401, {"error": "invalid_token"}, [(b"www-authenticate", meta.encode())])
        return await self.app(scope, receive, send)


class _Both:
    """Streamable HTTP at /mcp and SSE at /sse (+ /messages/) on one port."""

    def __init__(self, http: ASGIApp, sse: ASGIApp) -> None:
        self.http = http
        self.sse = sse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (scope["path"] == "/sse" or scope["path"].startswith("/messages")):
            return await self.sse(scope, receive, send)
        return await self.http(scope, receive, send)


@dataclass
class McpTestServer:
    base_url: str
    release: asyncio.Event
    slow_started: asyncio.Event
    oauth: OAuthState | None

    @property
    def url(self) -> str:
        return f"{self.base_url}/mcp"

    @property
    def sse_url(self) -> str:
        return f"{self.base_url}/sse"


@contextlib.asynccontextmanager
async def serve_mcp(*, oauth: bool = False, odd_names: bool = False) -> AsyncIterator[McpTestServer]:
    """`odd_names`: also a tool named `files.read` (a name model providers refuse as is)."""
    release, slow_started = asyncio.Event(), asyncio.Event()
    mcp = build_mcp(release, slow_started, odd_names=odd_names)
    app: ASGIApp = _Both(mcp.streamable_http_app(), mcp.sse_app())
    state = OAuthState() if oauth else None
    base_url: list[str] = [""]
    if state is not None:
        app = _OAuthGate(app, state, base_url)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    with contextlib.suppress(TimeoutError):
        await wait_until(lambda: server.started or task.done(), timeout=10)
    if not server.started:
        task.result() if task.done() else task.cancel()
        raise RuntimeError("MCP test server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    base_url[0] = f"http://127.0.0.1:{port}"
    try:
        yield McpTestServer(base_url[0], release, slow_started, state)
    finally:
        release.set()
        server.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(task, timeout=10)
