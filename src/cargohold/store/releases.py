"""Release queries, scoped to a workspace."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Agent, Release

__all__ = ["CONFIG_FIELDS", "get_release", "get_releases", "list_releases", "release_of_status", "versions_of"]

CONFIG_FIELDS = (
    "actions",
    "resources",
    "capabilities",
    "suggested_actions",
    "mcp_clients",
    "system_prompt",
    "with_reasoning",
    "temperature",
    "max_steps",
    "integration_slug",
    "connector_uuid",
    "language_model_slug",
    "output",
    "heartbeat",
    "evaluator",
)
"""The columns a release holds as the agent's configuration (copied into a new draft)."""


def _live_agent() -> sa.ColumnElement[bool]:
    """Releases of deleted agents are gone with them."""
    return Release.agent_uuid.in_(sa.select(Agent.uuid).where(Agent.deleted_at.is_(None)))


async def get_release(session: AsyncSession, workspace_uuid: uuid.UUID, release_uuid: uuid.UUID) -> Release | None:
    query = sa.select(Release).where(
        Release.uuid == release_uuid, Release.workspace_uuid == workspace_uuid, _live_agent()
    )
    return (await session.execute(query)).scalar_one_or_none()


async def get_releases(
    session: AsyncSession, workspace_uuid: uuid.UUID, release_uuids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Release]:
    if not release_uuids:
        return {}
    query = sa.select(Release).where(Release.workspace_uuid == workspace_uuid, Release.uuid.in_(list(release_uuids)))
    return {r.uuid: r for r in (await session.execute(query)).scalars()}


async def release_of_status(
    session: AsyncSession, workspace_uuid: uuid.UUID, agent_uuid: uuid.UUID, status: str, *, for_update: bool = False
) -> Release | None:
    query = sa.select(Release).where(
        Release.workspace_uuid == workspace_uuid, Release.agent_uuid == agent_uuid, Release.status == status
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_releases(
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    *,
    agent_uuid: uuid.UUID | None,
    user_uuid: uuid.UUID | None,
    statuses: Sequence[str],
    limit: int,
    offset: int,
) -> list[Release]:
    query = sa.select(Release).where(Release.workspace_uuid == workspace_uuid, _live_agent())
    if agent_uuid:
        query = query.where(Release.agent_uuid == agent_uuid)
    if user_uuid:
        query = query.where(Release.user_uuid == user_uuid)
    if statuses:
        query = query.where(Release.status.in_(list(statuses)))
    query = query.order_by(Release.created_at.desc(), Release.uuid.desc()).limit(limit).offset(offset)
    return list((await session.execute(query)).scalars())


async def versions_of(session: AsyncSession, agent_uuid: uuid.UUID) -> list[str]:
    query = sa.select(Release.version).where(Release.agent_uuid == agent_uuid, Release.version.is_not(None))
    return [v for v in (await session.execute(query)).scalars() if v]
