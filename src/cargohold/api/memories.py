"""/v1/ai/memories: HTTP only; the work is in services/memories.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.memories import MemoriesEnvelope, Memory, MemoryUpdate
from ..services import memories as service
from .deps import Caller, State

__all__ = ["router"]

router = APIRouter(prefix="/v1/ai/memories", tags=["AI - Memories"], responses=ERROR_RESPONSES)
Mem0Id = Annotated[str, Path(max_length=64)]
Scope = Annotated[Literal["user", "agent"], Query()]
AgentUuid = Annotated[UUID4 | None, Query(alias="agentUuid")]


@router.get("/list", summary="List the caller's memories (scope=user) or an agent's (scope=agent&agentUuid=)")
async def list_memories(
    state: State, who: Caller, scope: Scope = "user", agent_uuid: AgentUuid = None
) -> MemoriesEnvelope:
    rows = await service.list_memories(state, who, scope, agent_uuid)
    return MemoriesEnvelope(memories=[Memory.model_validate(row) for row in rows])


@router.put("/{mem0Id}", summary="Change a memory's content")
async def update_memory(state: State, who: Caller, mem0Id: Mem0Id, body: MemoryUpdate) -> dict[str, Any]:
    await service.update_memory(state, who, mem0Id, body.content, body.scope, body.agent_uuid)
    return {}


@router.delete("/{mem0Id}", summary="Delete a memory: no model is given it again")
async def delete_memory(
    state: State,
    who: Caller,
    mem0Id: Mem0Id,
    scope: Scope = "user",
    agent_uuid: AgentUuid = None,
) -> dict[str, Any]:
    await service.delete_memory(state, who, mem0Id, scope, agent_uuid)
    return {}
