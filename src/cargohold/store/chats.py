"""Chat queries. Every one is scoped to a workspace; soft-deleted chats are invisible."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, load_only

from ..db.tables import Chat, Message, complete
from ..db.types import utcnow

__all__ = ["ChatFilters", "chat_for_turn", "get_chat", "list_chats", "new_chat", "soft_delete_chat"]


@dataclass(slots=True)
class ChatFilters:
    agent_uuid: uuid.UUID | None = None
    release_uuid: uuid.UUID | None = None
    user_uuid: uuid.UUID | None = None
    trigger_type: str | None = None
    message_statuses: list[str] = field(default_factory=list)
    name: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


def new_chat(
    *,
    workspace_uuid: uuid.UUID,
    chat_uuid: uuid.UUID,
    trigger: dict[str, Any],
    user_uuid: uuid.UUID | None,
    name: str | None = None,
    agent_uuid: uuid.UUID | None = None,
    release_uuid: uuid.UUID | None = None,
) -> Chat:
    """A new chat, not yet written, every column set: `POST /v1/ai/chats` adds it to its session; a
    turn writes it with its first messages (`store.messages.insert_turn`)."""
    now = utcnow()
    chat = Chat(
        uuid=chat_uuid,
        workspace_uuid=workspace_uuid,
        user_uuid=user_uuid,
        agent_uuid=agent_uuid,
        release_uuid=release_uuid,
        slug=chat_uuid.hex[:12],
        name=name,
        trigger=trigger,
        trigger_type=trigger["type"],
        credits_used_count=0.0,
        message_seq=0,
        created_at=now,
        updated_at=now,
    )
    complete(chat)
    return chat


async def get_chat(
    session: AsyncSession, workspace_uuid: uuid.UUID, chat_uuid: uuid.UUID, *, for_update: bool = False
) -> Chat | None:
    query = sa.select(Chat).where(
        Chat.uuid == chat_uuid, Chat.workspace_uuid == workspace_uuid, Chat.deleted_at.is_(None)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


_CHAT_FOR_TURN = sa.select(Chat).where(Chat.uuid == sa.bindparam("chat_uuid")).with_for_update()
"""Built once, not per call: on every turn's path (AGENTS.md, "Statements on the hot path")."""


async def chat_for_turn(
    session: AsyncSession, workspace_uuid: uuid.UUID, chat_uuid: uuid.UUID
) -> tuple[Chat | None, bool]:
    """One statement for a turn's chat: (this workspace's live chat, locked for update, else None;
    whether the uuid is taken by any chat, in any workspace, deleted or not). The row is read by
    uuid alone so that one query answers both; another workspace's row is never returned."""
    chat = (await session.execute(_CHAT_FOR_TURN, {"chat_uuid": chat_uuid})).scalar_one_or_none()
    if chat is None:
        return None, False
    if chat.workspace_uuid != workspace_uuid or chat.deleted_at is not None:
        session.expunge(chat)
        return None, True
    return chat, True


async def get_last_message(session: AsyncSession, chat: Chat) -> Message | None:
    if chat.last_message_uuid is None:
        return None
    return await session.get(Message, chat.last_message_uuid)


_LAST = aliased(Message, name="last_message")
# `chats/list` shows a header of each chat's last message (schemas.chats.MessageHeader): its content
# columns (parts, usage, ... ten JSON documents) are neither read nor decoded.
_HEADER_COLUMNS = (
    "uuid",
    "workspace_uuid",
    "agent_uuid",
    "release_uuid",
    "chat_uuid",
    "user_uuid",
    "status",
    "error_message",
    "type",
    "created_at",
    "updated_at",
    "finished_at",
    "deleted_at",
)
_LAST_HEADER = load_only(*(getattr(_LAST, name) for name in _HEADER_COLUMNS), raiseload=True)


async def list_chats(
    session: AsyncSession, workspace_uuid: uuid.UUID, filters: ChatFilters, *, limit: int, offset: int
) -> list[tuple[Chat, Message | None]]:
    """A page of live chats, newest first, each with its last message: header columns only (reading
    another column of it raises, in this session too)."""
    # The page is chosen on chats alone, then only its rows are loaded with their last message: an
    # OFFSET then skips entries of the partial index, not joined message rows (bench/RESULTS.md:
    # 490k deep at 1M chats on PostgreSQL 2.7-3.8 s -> 45-93 ms; 48k deep on SQLite 80 -> 16 ms).
    page = sa.select(Chat.uuid, Chat.created_at).where(Chat.workspace_uuid == workspace_uuid, Chat.deleted_at.is_(None))
    f = filters
    if f.agent_uuid:
        page = page.where(Chat.agent_uuid == f.agent_uuid)
    if f.release_uuid:
        page = page.where(Chat.release_uuid == f.release_uuid)
    if f.user_uuid:
        page = page.where(Chat.user_uuid == f.user_uuid)
    if f.trigger_type:
        page = page.where(Chat.trigger_type == f.trigger_type)
    if f.message_statuses:
        page = page.where(Chat.last_message_status.in_(f.message_statuses))
    if f.name:
        pattern = "%" + f.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        page = page.where(Chat.name.ilike(pattern, escape="\\"))
    if f.created_after:
        page = page.where(Chat.created_at > f.created_after)
    if f.created_before:
        page = page.where(Chat.created_at < f.created_before)
    # LIMIT and OFFSET are written into the SQL: with bound values a prepared statement's generic plan
    # on PostgreSQL (taken after five executions) cannot see a page is small (a parallel plan; for this
    # query a seq scan of chats), ~10x slower.
    keys = (
        page.order_by(Chat.created_at.desc(), Chat.uuid.desc())
        .limit(sa.literal(limit, sa.Integer, literal_execute=True))
        .offset(sa.literal(offset, sa.Integer, literal_execute=True))
        .subquery()
    )
    query = (
        sa.select(Chat, _LAST)
        .join(keys, keys.c.uuid == Chat.uuid)
        .outerjoin(_LAST, _LAST.uuid == Chat.last_message_uuid)
        .options(_LAST_HEADER)
        .order_by(keys.c.created_at.desc(), keys.c.uuid.desc())
    )
    return [(row[0], row[1]) for row in (await session.execute(query)).all()]


async def soft_delete_chat(session: AsyncSession, chat: Chat) -> None:
    now = utcnow()
    chat.deleted_at = now
    await session.execute(
        sa.update(Message).where(Message.chat_uuid == chat.uuid, Message.deleted_at.is_(None)).values(deleted_at=now)
    )
    await session.flush()
