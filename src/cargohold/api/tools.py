"""/v1/tools (a cargohold extension): webhook tools an agent's `tool` actions call, and the runs of
calls made with `waitUntilFinished: false`. HTTP only; the work is in services/tools.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.tools import (
    Tool,
    ToolCreate,
    ToolCreated,
    ToolEnvelope,
    ToolRun,
    ToolRunEnvelope,
    ToolsEnvelope,
    ToolUpdate,
)
from ..services import tools as service
from .deps import Caller, Offset, State

__all__ = ["router", "tool_out"]

router = APIRouter(prefix="/v1/tools", tags=["Tools (cargohold)"], responses=ERROR_RESPONSES)


def tool_out(tool: Any) -> Tool:
    return Tool.model_validate(tool)  # `headers` is masked by its serializer


@router.post("", summary="Create a webhook tool (its signing secret is shown once)")
async def create_tool(state: State, who: Caller, body: ToolCreate) -> ToolCreated:
    tool = await service.create_tool(state, who, body)
    return ToolCreated(tool=tool_out(tool), signing_secret=tool.signing_secret)


@router.get("/list", summary="List webhook tools, newest first")
async def list_tools(
    state: State,
    who: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> ToolsEnvelope:
    return ToolsEnvelope(tools=[tool_out(t) for t in await service.list_tools(state, who, limit=limit, offset=offset)])


@router.get("/runs/{uuid}", summary="Get a tool run started with waitUntilFinished: false")
async def get_tool_run(state: State, who: Caller, uuid: UUID4) -> ToolRunEnvelope:
    return ToolRunEnvelope(run=ToolRun.model_validate(await service.read_tool_run(state, who, uuid)))


@router.get("/{uuid}", summary="Get a webhook tool")
async def get_tool(state: State, who: Caller, uuid: UUID4) -> ToolEnvelope:
    return ToolEnvelope(tool=tool_out(await service.read_tool(state, who, uuid)))


@router.put("/{uuid}", summary="Update a webhook tool")
async def update_tool(state: State, who: Caller, uuid: UUID4, body: ToolUpdate) -> ToolEnvelope:
    return ToolEnvelope(tool=tool_out(await service.update_tool(state, who, uuid, body)))


@router.delete("/{uuid}", summary="Delete a webhook tool")
async def delete_tool(state: State, who: Caller, uuid: UUID4) -> dict[str, Any]:
    await service.delete_tool(state, who, uuid)
    return {}
