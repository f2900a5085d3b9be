"""/v1/ai/mcpServers: hosted MCP servers. HTTP only; the work is in services/mcp_servers.py, the MCP
endpoint itself (`/{uuid}/mcp`) in api/mcp_host.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.mcp_servers import (
    McpServer,
    McpServerCall,
    McpServerCallsEnvelope,
    McpServerCreate,
    McpServerEnvelope,
    McpServersEnvelope,
    McpServerUpdate,
)
from ..services import mcp_servers as service
from .deps import Caller, Offset, State
from .mcp_host import PATH

__all__ = ["router", "server_out"]

router = APIRouter(prefix="/v1/ai/mcpServers", tags=["AI - MCP"], responses=ERROR_RESPONSES)


def server_out(server: Any) -> McpServer:
    fields = {name: getattr(server, name) for name in McpServer.model_fields if name not in ("tools", "url")}
    return McpServer.model_validate(
        {**fields, "tools": server.actions, "url": PATH.replace("{uuid}", str(server.uuid))}
    )


@router.post("", summary="Create a hosted MCP server exposing actions and resources as MCP tools")
async def create_mcp_server(state: State, who: Caller, body: McpServerCreate) -> McpServerEnvelope:
    return McpServerEnvelope(mcp_server=server_out(await service.create_server(state, who, body)))


@router.get("/list", summary="List the workspace's hosted MCP servers, newest first")
async def list_mcp_servers(state: State, who: Caller) -> McpServersEnvelope:
    return McpServersEnvelope(mcp_servers=[server_out(s) for s in await service.list_servers(state, who)])


@router.get("/{uuid}", summary="Get a hosted MCP server")
async def get_mcp_server(state: State, who: Caller, uuid: UUID4) -> McpServerEnvelope:
    return McpServerEnvelope(mcp_server=server_out(await service.read_server(state, who, uuid)))


@router.put("/{uuid}", summary="Update a hosted MCP server (its next tool list shows the change)")
async def update_mcp_server(state: State, who: Caller, uuid: UUID4, body: McpServerUpdate) -> McpServerEnvelope:
    return McpServerEnvelope(mcp_server=server_out(await service.update_server(state, who, uuid, body)))


@router.delete("/{uuid}", summary="Delete a hosted MCP server (soft): its endpoint answers 404")
async def delete_mcp_server(state: State, who: Caller, uuid: UUID4) -> dict[str, Any]:
    await service.delete_server(state, who, uuid)
    return {}


@router.get("/{uuid}/calls", summary="The tool calls MCP clients made on the server, newest first (cargohold)")
async def list_mcp_server_calls(
    state: State,
    who: Caller,
    uuid: UUID4,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> McpServerCallsEnvelope:
    calls = await service.list_calls(state, who, uuid, limit=limit, offset=offset)
    return McpServerCallsEnvelope(calls=[McpServerCall.model_validate(c) for c in calls])
