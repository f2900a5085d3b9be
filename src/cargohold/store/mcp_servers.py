"""Hosted MCP server queries and their call records, scoped to a workspace; soft-deleted servers
are invisible."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import McpServer, McpServerCall

__all__ = ["get_server", "list_calls", "list_servers"]


async def get_server(
    session: AsyncSession, workspace_uuid: uuid.UUID, server_uuid: uuid.UUID, *, for_update: bool = False
) -> McpServer | None:
    query = sa.select(McpServer).where(
        McpServer.uuid == server_uuid, McpServer.workspace_uuid == workspace_uuid, McpServer.deleted_at.is_(None)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_servers(session: AsyncSession, workspace_uuid: uuid.UUID) -> list[McpServer]:
    query = (
        sa.select(McpServer)
        .where(McpServer.workspace_uuid == workspace_uuid, McpServer.deleted_at.is_(None))
        .order_by(McpServer.created_at.desc(), McpServer.uuid.desc())
    )
    return list((await session.execute(query)).scalars())


async def list_calls(
    session: AsyncSession, workspace_uuid: uuid.UUID, server_uuid: uuid.UUID, *, limit: int, offset: int
) -> list[McpServerCall]:
    query = (
        sa.select(McpServerCall)
        .where(McpServerCall.workspace_uuid == workspace_uuid, McpServerCall.mcp_server_uuid == server_uuid)
        .order_by(McpServerCall.created_at.desc(), McpServerCall.uuid.desc())
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())
