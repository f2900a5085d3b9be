"""Agent queries, scoped to a workspace; soft-deleted agents are invisible."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Agent

__all__ = ["get_agent", "list_agents"]


async def get_agent(
    session: AsyncSession, workspace_uuid: uuid.UUID, agent_uuid: uuid.UUID, *, for_update: bool = False
) -> Agent | None:
    query = sa.select(Agent).where(
        Agent.uuid == agent_uuid, Agent.workspace_uuid == workspace_uuid, Agent.deleted_at.is_(None)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_agents(session: AsyncSession, workspace_uuid: uuid.UUID) -> list[Agent]:
    query = (
        sa.select(Agent)
        .where(Agent.workspace_uuid == workspace_uuid, Agent.deleted_at.is_(None))
        .order_by(Agent.created_at.desc(), Agent.uuid.desc())
    )
    return list((await session.execute(query)).scalars())
