"""MCP clients: probe an external MCP server and list its tools (`POST /v1/ai/mcpClients/connect`)."""

from __future__ import annotations

from ..errors import (
    McpClientFailed,
    McpClientNeedsReauthentication,
    McpClientNotSupported,
    McpClientTimeout,
    McpClientUnauthorized,
    UrlNotAllowed,
)
from ..schemas.mcp_clients import McpConnected, McpTool, McpToolConfig, parse_mcp_client
from ..state import AppState
from ..store.workspaces import Principal

__all__ = ["connect_mcp_client"]

_ERRORS: dict[str, type[McpClientFailed] | type[UrlNotAllowed]] = {
    "refused": UrlNotAllowed,
    "timeout": McpClientTimeout,
    "unauthorized": McpClientUnauthorized,
    "needsReauth": McpClientNeedsReauthentication,
    "unsupported": McpClientNotSupported,
}


async def connect_mcp_client(state: AppState, who: Principal, raw: dict[str, object]) -> McpConnected:
    """Connect, list every tool the server offers (disabled ones too: a client shows them to be
    switched back on), disconnect. A server that cannot be used is a 400 saying why."""
    # The MCP client stack (fastmcp, the mcp SDK: about a second of imports) loads on first use.
    from ..runtime.toolsets.mcp import McpFailure, connect_client

    client = parse_mcp_client(raw, field="mcpClient")
    try:
        opened = await connect_client(
            client,
            settings=state.settings,
            sessions=state.sessions,
            workspace_uuid=who.workspace_uuid,
            allow=state.outbound,
        )
    except McpFailure as failure:
        raise _ERRORS.get(failure.kind, McpClientFailed)(failure.message) from None
    try:
        return McpConnected(
            tools=[
                McpTool(
                    slug=tool.name,
                    description=tool.description,
                    config=McpToolConfig(json_schema=dict(tool.input_schema)),
                )
                for tool in opened.tools
            ]
        )
    finally:
        await opened.aclose()
