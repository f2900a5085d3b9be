"""/v1/ai/mcpClients: HTTP only; the work is in services/mcp_clients.py."""

from __future__ import annotations

from fastapi import APIRouter

from ..schemas.common import ERROR_RESPONSES
from ..schemas.mcp_clients import McpClientConnect, McpConnected
from ..services import mcp_clients as service
from .deps import Caller, State

__all__ = ["router"]

router = APIRouter(prefix="/v1/ai/mcpClients", tags=["AI - MCP"], responses=ERROR_RESPONSES)


@router.post(
    "/connect",
    summary="Connect to an MCP server and list its tools",
    description="Probes an external MCP server (streamable HTTP, or SSE for a URL ending in `/sse`) and "
    "lists its tools with their input schemas. A server that cannot be used is a 400 that says why: "
    "unreachable, a private address not allowed, refused credentials, a refresh token refused, a timeout.",
)
async def connect(state: State, who: Caller, body: McpClientConnect) -> McpConnected:
    return await service.connect_mcp_client(state, who, body.mcp_client)
