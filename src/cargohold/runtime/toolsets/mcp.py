"""MCP clients as pydantic-ai toolsets: one `MCPToolset` per external MCP server of a turn.

Every client is connected and listed up front, each within its own timeouts, so a server that is
down, slow, refused by the outbound guard or no longer authorized becomes an entry in
`McpSetup.errors` (the turn reports it and goes on without that server), never a failed turn.
Tool names are prefixed per client (`<client slug>_<tool>`) so servers never collide; a client's
`disabledToolSlugs` are hidden. A tool call that fails, times out or gets an MCP error gives the
model a failed tool result (`ToolFailed`) and the turn goes on.

    setup = await open_mcp_clients(raw_clients, settings=settings, sessions=sessions, workspace_uuid=ws)
    try:
        agent = Agent(model, toolsets=[*setup.toolsets, ...])
        ...
    finally:
        await setup.aclose()
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
from fastmcp.client import Client as FastMCPClient
from fastmcp.client.transports import SSETransport, StreamableHttpTransport
from fastmcp.mcp_config import infer_transport_type_from_url
from mcp import types as mcp_types
from pydantic_ai import RunContext
from pydantic_ai.exceptions import ModelRetry, ToolFailed
from pydantic_ai.mcp import CallToolFunc, MCPToolset, ToolResult
from pydantic_ai.toolsets import AbstractToolset

from ...db.engine import SessionFactory
from ...errors import BadRequest
from ...schemas.mcp_clients import (
    ConnectorMcpClient,
    CustomMcpClient,
    McpAuthentication,
    McpClient,
    parse_mcp_client,
)
from ...settings import Settings
from ...store import mcp_connections as connection_store
from ..outbound import AllowList, OutboundRefused, allow_list, check_url, guarded_client2
from .mcp_auth import BearerFlow, NeedsReauth
from .mcp_errors import McpFailure, describe_failure

__all__ = ["McpFailure", "McpSetup", "OpenedClient", "Timeouts", "connect_client", "open_mcp_clients"]

CLOSE_TIMEOUT = 5.0
MAX_TOOL_NAME = 64
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timeouts:
    connect: float
    list: float
    call: float
    tools: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, client: McpClient, settings: Settings) -> Timeouts:
        own = client.timeouts
        return cls(
            connect=(own and own.connect) or settings.mcp_connect_timeout,
            list=(own and own.list) or settings.mcp_list_timeout,
            call=(own and own.call) or settings.mcp_call_timeout,
            tools=dict((own and own.tools) or {}),
        )

    def call_of(self, tool: str) -> float:
        return self.tools.get(tool, self.call)


@dataclass
class _Probe:
    """The last HTTP status the MCP server answered with, to say why a connection failed."""

    status: int | None = None
    refused: OutboundRefused | None = None

    async def record(self, response: httpx2.Response) -> None:
        if response.status_code >= 400:
            self.status = response.status_code

    def refuse(self, refused: OutboundRefused) -> None:
        self.refused = refused


@dataclass
class OpenedClient:
    """A connected MCP server and the tools it listed (all of them, disabled ones included)."""

    client: CustomMcpClient
    toolset: MCPToolset[Any]
    tools: list[mcp_types.Tool]
    timeouts: Timeouts

    @property
    def visible_tools(self) -> list[mcp_types.Tool]:
        disabled = set(self.client.disabled_tool_slugs)
        return [t for t in self.tools if t.name not in disabled]

    async def aclose(self) -> None:
        # Shielded: a cancelled turn still closes its connections. A vanished server: nothing to close.
        with anyio.CancelScope(shield=True), anyio.move_on_after(CLOSE_TIMEOUT), suppress(Exception):
            await self.toolset.__aexit__(None, None, None)


def _http_factory(allow: AllowList, timeouts: Timeouts, probe: _Probe) -> Callable[..., httpx2.AsyncClient]:
    def factory(
        headers: dict[str, str] | None = None,
        auth: httpx2.Auth | None = None,
        timeout: Any = None,
        follow_redirects: bool = True,
        **_: Any,
    ) -> httpx2.AsyncClient:
        # Reads wait as long as the slowest call may take; the call timeout itself is ours.
        read = max(timeouts.call, timeouts.list, *timeouts.tools.values()) + 30
        return guarded_client2(
            allow,
            timeout=httpx2.Timeout(timeouts.connect, read=read, write=30.0, pool=timeouts.connect),
            headers=headers,
            auth=auth,
            follow_redirects=follow_redirects,
            event_hooks={"response": [probe.record]},
            on_refused=probe.refuse,
        )

    return factory


def _call_hook(client: CustomMcpClient, timeouts: Timeouts, credential: BearerFlow | None) -> Any:
    async def call(ctx: RunContext[Any], call_tool: CallToolFunc, name: str, args: dict[str, Any]) -> ToolResult:
        limit = timeouts.call_of(name)
        try:
            with anyio.fail_after(limit):
                return await call_tool(name, args)
        except ToolFailed:
            raise
        except TimeoutError:
            raise ToolFailed(f"MCP tool {name} of {client.name} did not answer within {limit:g}s") from None
        except Exception as exc:
            cause: BaseException = exc
            if credential is not None and credential.failure is not None:  # the SDK only says "Connection closed"
                cause = credential.failure
            elif isinstance(exc, ModelRetry):  # an MCP protocol error
                raise ToolFailed(f"MCP tool {name} of {client.name} failed: {exc.message}") from None
            failure = describe_failure(cause, client.name, client.url, "call the tool", limit)
            raise ToolFailed(f"MCP tool {name} of {client.name} failed: {failure.message}") from None

    return call


async def _auth(
    client: CustomMcpClient, settings: Settings, sessions: SessionFactory, workspace_uuid: uuid.UUID, allow: AllowList
) -> tuple[httpx2.Auth | str | None, BearerFlow | None]:
    authentication = client.authentication
    if authentication is None:
        return None, None
    if not authentication.refresh_token:
        return authentication.access_token, None
    credential = BearerFlow(
        client_name=client.name,
        url=client.url,
        auth=authentication,
        workspace_uuid=workspace_uuid,
        sessions=sessions,
        allow=allow,
        timeout=Timeouts.of(client, settings).connect,
    )
    await credential.refresh_now()  # a known or refused refresh fails this client now
    return credential, credential


async def _unseal(client: CustomMcpClient, sessions: SessionFactory, workspace_uuid: uuid.UUID) -> CustomMcpClient:
    """A stored client holds its `authentication` masked and the `credentialKey` of the clear one."""
    if client.credential_key is None:
        return client
    async with sessions() as session:
        credential = await connection_store.read_credential(session, workspace_uuid, client.credential_key, client.url)
    if credential is None:
        raise McpFailure(
            "needsReauth",
            f"MCP client {client.name}: its stored credential was not found; send its authentication again",
        )
    return client.model_copy(update={"authentication": McpAuthentication.model_validate(credential)})


async def connect_client(
    client: McpClient,
    *,
    settings: Settings,
    sessions: SessionFactory,
    workspace_uuid: uuid.UUID,
    allow: AllowList | None = None,
    prefix: str | None = None,
) -> OpenedClient:
    """Connect to one MCP server and list its tools. Raises McpFailure saying why it could not."""
    if isinstance(client, ConnectorMcpClient):
        raise McpFailure(
            "unsupported",
            f"MCP client {client.name}: connector MCP clients are not available in cargohold "
            "(no connector provides an MCP server here); add the server as a custom client with its URL",
        )
    allow = allow if allow is not None else allow_list(settings)
    client = await _unseal(client, sessions, workspace_uuid)
    timeouts = Timeouts.of(client, settings)
    probe = _Probe()
    phase, limit = "connect", timeouts.connect
    toolset: MCPToolset[Any] | None = None
    try:
        with anyio.fail_after(timeouts.connect):
            await check_url(client.url, allow)  # early and clear; the guard checks again on connect
            auth, credential = await _auth(client, settings, sessions, workspace_uuid, allow)
            factory = _http_factory(allow, timeouts, probe)
            transport: Any
            if infer_transport_type_from_url(client.url) == "sse":
                transport = SSETransport(client.url, auth=auth, httpx_client_factory=factory)
            else:
                transport = StreamableHttpTransport(client.url, auth=auth, httpx_client_factory=factory)
            mcp_client = FastMCPClient[Any](
                transport,
                init_timeout=timeouts.connect,
                timeout=max(timeouts.call, timeouts.list, *timeouts.tools.values()) + 5,
            )
            toolset = MCPToolset(
                mcp_client,
                id=f"mcp_{prefix}" if prefix else None,
                tool_error_behavior="failed",
                process_tool_call=_call_hook(client, timeouts, credential),
            )
            await toolset.__aenter__()
        phase, limit = "list its tools", timeouts.list
        with anyio.fail_after(timeouts.list):
            tools = await toolset.list_tools()
    except BaseException as exc:
        if toolset is not None and toolset.is_running:
            await OpenedClient(client, toolset, [], timeouts).aclose()
        if not isinstance(exc, Exception):
            raise
        raise describe_failure(probe.refused or exc, client.name, client.url, phase, limit, probe.status) from exc
    return OpenedClient(client, toolset, tools, timeouts)


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:32] or "mcp"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}_{n}", n + 1
    taken.add(slug)
    return slug


def _model_names(prefix: str, tools: list[str]) -> dict[str, str]:
    """`<prefix>_<tool>` for each tool (model name -> server name), made safe and unique."""
    names: dict[str, str] = {}
    for tool in tools:
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{prefix}_{tool}")[:MAX_TOOL_NAME]
        name, n = base, 2
        while name in names:
            suffix = f"_{n}"
            name, n = base[: MAX_TOOL_NAME - len(suffix)] + suffix, n + 1
        names[name] = tool
    return names


@dataclass
class McpSetup:
    toolsets: list[AbstractToolset[Any]] = field(default_factory=list)
    """Give these to `pydantic_ai.Agent(toolsets=...)`."""
    evaluated_tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Tool name as the model sees it -> `{"kind": "mcpServer", "name": <client name>, "url": <url>}`."""
    errors: list[dict[str, str]] = field(default_factory=list)
    """`[{"mcpClient": name, "errorMessage": ...}]` for clients that could not be reached or listed."""
    opened: list[OpenedClient] = field(default_factory=list)

    async def aclose(self) -> None:
        """Close every connection (each within a few seconds; never raises)."""
        opened, self.opened = self.opened, []
        await asyncio.gather(*(o.aclose() for o in opened))


async def _open(raw: Any, index: int, prefix: str, **kwargs: Any) -> OpenedClient | dict[str, str]:
    name = str(raw.get("name") or f"#{index}") if isinstance(raw, dict) else f"#{index}"
    try:
        client = parse_mcp_client(raw, field=f"mcpClients[{index}]")
        return await connect_client(client, prefix=prefix, **kwargs)
    except (McpFailure, BadRequest, NeedsReauth) as exc:
        return {"mcpClient": name, "errorMessage": str(exc)}
    except Exception as exc:  # never a failed turn because of one MCP server
        log.exception("MCP client %s could not be opened", name)
        url = str(raw.get("url")) if isinstance(raw, dict) else ""
        return {"mcpClient": name, "errorMessage": describe_failure(exc, name, url, "connect", 0).message}


async def open_mcp_clients(
    clients: list[dict[str, Any]], *, settings: Settings, sessions: SessionFactory, workspace_uuid: uuid.UUID
) -> McpSetup:
    """Connect to a turn's MCP clients (raw camelCase `mcpClients`), all at once."""
    setup = McpSetup()
    if not clients:
        return setup
    allow = allow_list(settings)
    taken: set[str] = set()
    prefixes = [_slug(str(c.get("name") or "mcp") if isinstance(c, dict) else "mcp", taken) for c in clients]
    kwargs = {"settings": settings, "sessions": sessions, "workspace_uuid": workspace_uuid, "allow": allow}
    tasks = [asyncio.ensure_future(_open(raw, i, prefixes[i], **kwargs)) for i, raw in enumerate(clients)]
    try:
        results = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        done = await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(r.aclose() for r in done if isinstance(r, OpenedClient)))
        raise
    for prefix, result in zip(prefixes, results, strict=True):
        if isinstance(result, dict):
            setup.errors.append(result)
            continue
        setup.opened.append(result)
        names = _model_names(prefix, [t.name for t in result.visible_tools])
        offered = frozenset(names.values())

        # Only the tools listed now, under names every provider accepts (`[A-Za-z0-9_-]{1,64}`).
        def listed(ctx: Any, tool_def: Any, offered: frozenset[str] = offered) -> bool:
            return tool_def.name in offered

        toolset = result.toolset.filtered(listed)
        setup.toolsets.append(toolset.renamed(names))
        for model_name in names:
            setup.evaluated_tools[model_name] = {
                "kind": "mcpServer",
                "name": result.client.name,
                "url": result.client.url,
            }
    return setup
