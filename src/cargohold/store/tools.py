"""Workspace (webhook) tool queries and tool runs, scoped to a workspace."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Tool, ToolRun

__all__ = ["get_tool", "get_tool_run", "list_tools"]


async def get_tool(session: AsyncSession, workspace_uuid: uuid.UUID, tool_uuid: uuid.UUID) -> Tool | None:
    query = sa.select(Tool).where(
        Tool.uuid == tool_uuid, Tool.workspace_uuid == workspace_uuid, Tool.deleted_at.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_tools(session: AsyncSession, workspace_uuid: uuid.UUID, *, limit: int, offset: int) -> list[Tool]:
    query = (
        sa.select(Tool)
        .where(Tool.workspace_uuid == workspace_uuid, Tool.deleted_at.is_(None))
        .order_by(Tool.created_at.desc(), Tool.uuid.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())


async def get_tool_run(session: AsyncSession, workspace_uuid: uuid.UUID, run_uuid: uuid.UUID) -> ToolRun | None:
    query = sa.select(ToolRun).where(ToolRun.uuid == run_uuid, ToolRun.workspace_uuid == workspace_uuid)
    return (await session.execute(query)).scalar_one_or_none()
