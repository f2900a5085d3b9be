"""Memory queries: every one scoped to a workspace and to one owner (a user, or an agent)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Memory

__all__ = ["delete_memory", "find_normalized", "get_memory", "owner_memories"]


def _owned(workspace_uuid: uuid.UUID, scope: str, owner_uuid: uuid.UUID) -> list[sa.ColumnElement[bool]]:
    owner = Memory.user_uuid if scope == "user" else Memory.agent_uuid
    return [Memory.workspace_uuid == workspace_uuid, Memory.scope == scope, owner == owner_uuid]


async def owner_memories(
    session: AsyncSession, workspace_uuid: uuid.UUID, scope: str, owner_uuid: uuid.UUID, *, limit: int
) -> list[Memory]:
    """The owner's memories, most recently updated first."""
    query = (
        sa.select(Memory)
        .where(*_owned(workspace_uuid, scope, owner_uuid))
        .order_by(Memory.updated_at.desc(), Memory.mem0_id)
        .limit(limit)
    )
    return list((await session.execute(query)).scalars())


async def get_memory(
    session: AsyncSession, workspace_uuid: uuid.UUID, scope: str, owner_uuid: uuid.UUID, mem0_id: str
) -> Memory | None:
    query = sa.select(Memory).where(Memory.mem0_id == mem0_id, *_owned(workspace_uuid, scope, owner_uuid))
    return (await session.execute(query)).scalar_one_or_none()


async def find_normalized(
    session: AsyncSession, workspace_uuid: uuid.UUID, scope: str, owner_uuid: uuid.UUID, normalized: str
) -> Memory | None:
    query = (
        sa.select(Memory)
        .where(Memory.normalized == normalized, *_owned(workspace_uuid, scope, owner_uuid))
        .limit(1)
        .with_for_update()
    )
    return (await session.execute(query)).scalar_one_or_none()


async def delete_memory(session: AsyncSession, memory: Memory) -> None:
    await session.execute(sa.delete(Memory).where(Memory.mem0_id == memory.mem0_id))
