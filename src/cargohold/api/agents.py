"""/v1/ai/agents: HTTP only; the work is in services/agents.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..schemas.agents import Agent, AgentCreate, AgentEnvelope, AgentsEnvelope, AgentUpdate
from ..schemas.common import ERROR_RESPONSES, UUID4
from ..services import agents as service
from ..services.ports import NoSchedules, ScheduleSync
from .deps import Caller, State
from .releases import release_summary

__all__ = ["agent_out", "router"]

router = APIRouter(prefix="/v1/ai/agents", tags=["AI - Agents"], responses=ERROR_RESPONSES)


def agent_out(agent: Any, deployed: Any, schedules: ScheduleSync | None = None) -> Agent:
    fields = {
        name: getattr(agent, name)
        for name in Agent.model_fields
        if name not in ("triggers", "deployments", "deployed_release")
    }
    triggers = _with_schedule_ids(agent, deployed, schedules or NoSchedules())
    return Agent.model_validate(
        {
            **fields,
            "triggers": triggers,
            "deployments": triggers,
            "deployed_release": release_summary(deployed) if deployed is not None else None,
        }
    )


def _with_schedule_ids(agent: Any, deployed: Any, schedules: ScheduleSync) -> list[dict[str, Any]]:
    """With Temporal, each cron trigger carries `temporalScheduleWorkflowId`: the id of the
    Temporal Schedule that fires it while the agent has a deployed release (else null). Without
    Temporal the field is left out (the in-process scheduler has no such id)."""
    triggers: list[dict[str, Any]] = []
    for trigger in agent.triggers or []:
        if isinstance(trigger, dict) and trigger.get("type") == "cron":
            schedule_id = schedules.cron_schedule_id(agent.uuid, trigger)
            if schedule_id is not None:
                live = deployed is not None and agent.deleted_at is None
                trigger = {**trigger, "temporalScheduleWorkflowId": schedule_id if live else None}
        triggers.append(trigger)
    return triggers


@router.post("", summary="Create an agent (and its draft release)")
async def create_agent(state: State, who: Caller, body: AgentCreate) -> AgentEnvelope:
    return AgentEnvelope(agent=agent_out(*await service.create_agent(state, who, body), state.schedules))


@router.get("/list", summary="List the workspace's agents, newest first")
async def list_agents(state: State, who: Caller) -> AgentsEnvelope:
    return AgentsEnvelope(agents=[agent_out(*view, state.schedules) for view in await service.list_agents(state, who)])


@router.get("/{uuid}", summary="Get an agent")
async def get_agent(state: State, who: Caller, uuid: UUID4) -> AgentEnvelope:
    return AgentEnvelope(agent=agent_out(*await service.read_agent(state, who, uuid), state.schedules))


@router.put("/{uuid}", summary="Update an agent")
async def update_agent(state: State, who: Caller, uuid: UUID4, body: AgentUpdate) -> AgentEnvelope:
    return AgentEnvelope(agent=agent_out(*await service.update_agent(state, who, uuid, body), state.schedules))


@router.delete("/{uuid}", summary="Delete an agent (soft)")
async def delete_agent(state: State, who: Caller, uuid: UUID4) -> dict[str, Any]:
    await service.delete_agent(state, who, uuid)
    return {}
