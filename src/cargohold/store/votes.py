"""Vote queries, scoped to a workspace."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Vote
from ..db.types import utcnow

__all__ = ["chat_votes", "get_vote", "put_vote"]


async def put_vote(
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    chat_uuid: uuid.UUID,
    message_uuid: uuid.UUID,
    user_uuid: uuid.UUID,
    is_upvoted: bool,
) -> Vote:
    """Insert or change a user's vote in one statement: two votes at once on the same message are one
    row, the last one written (never a unique-key error)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    stmt = insert(Vote).values(
        message_uuid=message_uuid,
        user_uuid=user_uuid,
        workspace_uuid=workspace_uuid,
        chat_uuid=chat_uuid,
        is_upvoted=is_upvoted,
        updated_at=now,
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[Vote.message_uuid, Vote.user_uuid], set_={"is_upvoted": is_upvoted, "updated_at": now}
        )
    )
    row = await get_vote(session, workspace_uuid, message_uuid, user_uuid)
    assert row is not None
    return row


async def get_vote(
    session: AsyncSession, workspace_uuid: uuid.UUID, message_uuid: uuid.UUID, user_uuid: uuid.UUID
) -> Vote | None:
    query = (
        sa.select(Vote)
        .where(Vote.workspace_uuid == workspace_uuid, Vote.message_uuid == message_uuid, Vote.user_uuid == user_uuid)
        .execution_options(populate_existing=True)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def chat_votes(session: AsyncSession, workspace_uuid: uuid.UUID, chat_uuid: uuid.UUID) -> list[Vote]:
    query = (
        sa.select(Vote)
        .where(Vote.workspace_uuid == workspace_uuid, Vote.chat_uuid == chat_uuid)
        .order_by(Vote.updated_at, Vote.message_uuid)
    )
    return list((await session.execute(query)).scalars())
