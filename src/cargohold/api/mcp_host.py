"""The MCP endpoint of hosted MCP servers: `/v1/ai/mcpServers/{uuid}/mcp`, streamable HTTP.

One low-level MCP `Server` and one stateless `StreamableHTTPSessionManager` serve every hosted
server of every workspace. `McpEndpoint` (a plain ASGI app on the route) first authenticates the
workspace API token and finds the server in that workspace (401 / 404 `{errorMessage, reason}`
otherwise, so no one ever lists another workspace's tools), then hands the request to the manager
with the caller and the server uuid in the ASGI scope; the MCP handlers read them back from
`ctx.request.scope` and call `services/mcp_servers.py`. Stateless: every request is checked again
(a revoked token, a deleted or changed server take effect on the next request).

The mcp SDK (about half a second of imports) loads, and the manager starts, at the first request to
the endpoint: a server that hosts no MCP server, or a CLI command, never pays for it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from pydantic_core import to_jsonable_python
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .. import __version__
from ..errors import CargoholdError, McpServerNotFound, Unauthorized
from ..services import mcp_servers as service
from ..state import AppState
from ..store.workspaces import Principal, authenticate

if TYPE_CHECKING:
    import mcp_types as types
    from anyio.abc import TaskGroup, TaskStatus
    from mcp.server.context import ServerRequestContext
    from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

__all__ = ["McpHost"]

_SCOPE_KEY = "cargohold.mcp"
PATH = "/v1/ai/mcpServers/{uuid}/mcp"


def _caller(ctx: ServerRequestContext[Any, Any]) -> tuple[AppState, Principal, uuid.UUID]:
    request = ctx.request
    assert isinstance(request, Request), "hosted MCP servers are served over HTTP only"
    state, who, server_uuid = request.scope[_SCOPE_KEY]
    return state, who, server_uuid


async def _list_tools(
    ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
) -> types.ListToolsResult:
    import mcp_types as types

    state, who, server_uuid = _caller(ctx)
    definitions = await service.hosted_tool_definitions(state, who, server_uuid)
    return types.ListToolsResult(
        tools=[
            types.Tool(name=d.name, description=d.description, input_schema=d.parameters_json_schema)
            for d in definitions
        ]
    )


async def _call_tool(ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams) -> types.CallToolResult:
    import mcp_types as types

    state, who, server_uuid = _caller(ctx)
    outcome = await service.call_hosted_tool(state, who, server_uuid, params.name, dict(params.arguments or {}))
    if outcome.error is not None:
        return types.CallToolResult(content=[types.TextContent(type="text", text=outcome.error)], is_error=True)
    output = to_jsonable_python(outcome.output)
    text = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=output if isinstance(output, dict) else None,
    )


def _error(exc: CargoholdError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


class McpHost:
    """The endpoint's ASGI app plus the session manager it runs (in the app's lifespan, from the
    endpoint's first request on)."""

    def __init__(self) -> None:
        self.manager: StreamableHTTPSessionManager | None = None
        self._tasks: TaskGroup | None = None
        self._starting: anyio.Event | None = None

    @asynccontextmanager
    async def run(self) -> AsyncIterator[None]:
        # A manager runs once: each start of the app (a test may start one app twice) gets its own.
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                yield
            finally:
                self._tasks = None
                tasks.cancel_scope.cancel()
        self.manager = None
        self._starting = None

    async def _serve(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        from mcp.server.lowlevel import Server
        from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

        server: Server[Any] = Server(
            "cargohold",
            version=__version__,
            instructions="Tools of a cargohold workspace: its actions and data resources.",
            on_list_tools=_list_tools,
            on_call_tool=_call_tool,
        )
        manager = StreamableHTTPSessionManager(server, stateless=True, json_response=True)
        async with manager.run():
            self.manager = manager
            task_status.started()
            await anyio.sleep_forever()

    async def _manager(self) -> StreamableHTTPSessionManager | None:
        """The running session manager, started by the first request (None while the app stops)."""
        if self.manager is None and self._tasks is not None:
            if self._starting is None:
                self._starting = anyio.Event()
                try:
                    await self._tasks.start(self._serve)
                finally:
                    self._starting.set()
            else:
                await self._starting.wait()
        return self.manager

    def route(self) -> Route:
        return Route(PATH, self, methods=["GET", "POST", "DELETE"], include_in_schema=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        state: AppState = request.app.state.cargohold
        try:
            scope[_SCOPE_KEY] = (state, *await self._admit(state, request))
        except CargoholdError as exc:
            await _error(exc)(scope, receive, send)
            return
        manager = await self._manager()
        if manager is None:  # a request during shutdown
            await JSONResponse({"errorMessage": "The server is stopping"}, status_code=503)(scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)

    @staticmethod
    async def _admit(state: AppState, request: Request) -> tuple[Principal, uuid.UUID]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized()
        async with state.reads() as session:
            who = await authenticate(session, token.strip())
        if who is None:
            raise Unauthorized("Invalid API token")
        try:
            server_uuid = uuid.UUID(request.path_params["uuid"])
        except ValueError:
            raise McpServerNotFound("MCP server not found") from None
        await service.read_server(state, who, server_uuid)  # mcpServerNotFound in any other workspace
        return who, server_uuid
