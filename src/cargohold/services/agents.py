"""Agent use cases. Creating an agent opens its draft release."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Agent, Release
from ..db.types import utcnow
from ..errors import AgentNotFound
from ..schemas.agents import AgentCreate, AgentUpdate
from ..state import AppState
from ..store import agents as agent_store
from ..store import releases as release_store
from ..store.workspaces import Principal

__all__ = ["create_agent", "delete_agent", "list_agents", "read_agent", "require_agent", "update_agent"]

AgentView = tuple[Agent, Release | None]


async def require_agent(
    session: AsyncSession, who: Principal, agent_uuid: uuid.UUID, *, for_update: bool = False
) -> Agent:
    """The caller's agent, or `agentNotFound` (another workspace's is not found either)."""
    agent = await agent_store.get_agent(session, who.workspace_uuid, agent_uuid, for_update=for_update)
    if agent is None:
        raise AgentNotFound(f"Agent {agent_uuid} not found")
    return agent


def _triggers(items: list[Any]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", by_alias=True) for t in items]


async def create_agent(state: AppState, who: Principal, body: AgentCreate) -> AgentView:
    now = utcnow()
    agent = Agent(
        uuid=uuid.uuid4(),
        workspace_uuid=who.workspace_uuid,
        user_uuid=who.user_uuid,
        name=body.name,
        icon=body.icon.model_dump(mode="json"),
        description=body.description,
        folder_uuid=body.folder_uuid,
        triggers=_triggers(body.effective_triggers or []),
        template=None,
        is_read_only=False,
        created_at=now,
        updated_at=now,
    )
    draft = Release(
        uuid=uuid.uuid4(),
        workspace_uuid=who.workspace_uuid,
        agent_uuid=agent.uuid,
        user_uuid=who.user_uuid,
        status="draft",
        actions=[],
        resources=[],
        capabilities=[],
        suggested_actions=[],
        mcp_clients=[],
        with_reasoning=False,
        created_at=now,
        updated_at=now,
    )
    async with state.sessions() as session, session.begin():
        session.add(agent)
        await session.flush()
        session.add(draft)
    await state.schedules.agent_changed(agent.uuid)
    return agent, None


async def _view(session: AsyncSession, agent: Agent) -> AgentView:
    deployed = None
    if agent.deployed_release_uuid is not None:
        deployed = await release_store.get_release(session, agent.workspace_uuid, agent.deployed_release_uuid)
    return agent, deployed


async def read_agent(state: AppState, who: Principal, agent_uuid: uuid.UUID) -> AgentView:
    async with state.sessions() as session:
        return await _view(session, await require_agent(session, who, agent_uuid))


async def list_agents(state: AppState, who: Principal) -> list[AgentView]:
    async with state.sessions() as session:
        agents = await agent_store.list_agents(session, who.workspace_uuid)
        live = [a.deployed_release_uuid for a in agents if a.deployed_release_uuid is not None]
        deployed = await release_store.get_releases(session, who.workspace_uuid, live)
        return [(a, deployed.get(a.deployed_release_uuid) if a.deployed_release_uuid else None) for a in agents]


async def update_agent(state: AppState, who: Principal, agent_uuid: uuid.UUID, body: AgentUpdate) -> AgentView:
    given = body.model_fields_set
    async with state.sessions() as session, session.begin():
        agent = await require_agent(session, who, agent_uuid, for_update=True)
        if body.name is not None:
            agent.name = body.name
        if body.icon is not None:
            agent.icon = body.icon.model_dump(mode="json")
        if "description" in given:
            agent.description = body.description
        if "folder_uuid" in given:
            agent.folder_uuid = body.folder_uuid
        if body.effective_triggers is not None:
            agent.triggers = _triggers(body.effective_triggers)
        if "template" in given:
            agent.template = body.template
        agent.updated_at = utcnow()
        await session.flush()
        view = await _view(session, agent)
    await state.schedules.agent_changed(agent_uuid)
    return view


async def delete_agent(state: AppState, who: Principal, agent_uuid: uuid.UUID) -> None:
    async with state.sessions() as session, session.begin():
        agent = await require_agent(session, who, agent_uuid, for_update=True)
        agent.deleted_at = utcnow()
    await state.schedules.agent_changed(agent_uuid)
