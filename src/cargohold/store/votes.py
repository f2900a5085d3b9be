"""Vote queries, scoped to a workspace."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Vote

__all__ = ["chat_votes", "get_vote"]


async def get_vote(
    session: AsyncSession, workspace_uuid: uuid.UUID, message_uuid: uuid.UUID, user_uuid: uuid.UUID
) -> Vote | None:
    query = (
        sa.select(Vote)
        .where(Vote.workspace_uuid == workspace_uuid, Vote.message_uuid == message_uuid, Vote.user_uuid == user_uuid)
        .with_for_update()
    )
    return (await session.execute(query)).scalar_one_or_none()


async def chat_votes(session: AsyncSession, workspace_uuid: uuid.UUID, chat_uuid: uuid.UUID) -> list[Vote]:
    query = (
        sa.select(Vote)
        .where(Vote.workspace_uuid == workspace_uuid, Vote.chat_uuid == chat_uuid)
        .order_by(Vote.updated_at, Vote.message_uuid)
    )
    return list((await session.execute(query)).scalars())
