"""Message queries. Reads are scoped to a workspace; the run/lease functions take a message uuid
because the executor (any instance) works on behalf of whoever stored the message."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import UNFINISHED as UNFINISHED_SQL
from ..db.tables import Chat, Message, TurnStep, complete, insert_rows
from ..db.types import utcnow

__all__ = [
    "UNFINISHED",
    "chat_has_unfinished",
    "chat_history",
    "expired_unfinished",
    "get_message",
    "history_of",
    "insert_turn",
    "list_messages",
    "message_uuid_taken",
    "new_message",
    "refresh_last_message",
    "set_status",
]

UNFINISHED = ("pending", "generating")


def new_message(chat: Chat, **fields: Any) -> Message:
    """The chat's next message, not yet written, every column set: it takes the chat's next `seq`
    and becomes its last message. `insert_turn` writes it."""
    now = fields.pop("created_at", None) or utcnow()
    chat.message_seq += 1
    message = Message(
        workspace_uuid=chat.workspace_uuid,
        chat_uuid=chat.uuid,
        seq=chat.message_seq,
        created_at=now,
        updated_at=now,
        **fields,
    )
    message.uuid = fields.get("uuid") or uuid.uuid4()
    complete(message)
    chat.last_message_uuid = message.uuid
    chat.last_message_status = message.status
    chat.updated_at = now
    return message


async def insert_turn(session: AsyncSession, chat: Chat, messages: list[Message], *, chat_is_new: bool) -> None:
    """Write a turn's messages (`new_message`), and its chat first when it is new (`new_chat`): one
    Core INSERT each, with the chat's final values. A chat that was read (in this session) is
    updated by the session's flush, as any row it holds. The objects stay out of the session."""
    conn = await session.connection()
    if chat_is_new:
        await insert_rows(conn, [chat])
    await insert_rows(conn, messages)


async def get_message(session: AsyncSession, workspace_uuid: uuid.UUID, message_uuid: uuid.UUID) -> Message | None:
    return (
        await session.execute(
            sa.select(Message).where(
                Message.uuid == message_uuid,
                Message.workspace_uuid == workspace_uuid,
                Message.deleted_at.is_(None),
            )
        )
    ).scalar_one_or_none()


async def message_uuid_taken(session: AsyncSession, message_uuid: uuid.UUID) -> bool:
    return (await session.execute(sa.select(sa.exists().where(Message.uuid == message_uuid)))).scalar_one()


async def list_messages(
    session: AsyncSession, workspace_uuid: uuid.UUID, chat_uuid: uuid.UUID, *, limit: int, offset: int
) -> list[Message]:
    query = (
        sa.select(Message)
        .where(
            Message.chat_uuid == chat_uuid,
            Message.workspace_uuid == workspace_uuid,
            Message.deleted_at.is_(None),
        )
        .order_by(Message.seq)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())


async def chat_has_unfinished(session: AsyncSession, chat_uuid: uuid.UUID) -> bool:
    query = sa.select(
        sa.exists().where(Message.chat_uuid == chat_uuid, Message.status.in_(UNFINISHED), Message.deleted_at.is_(None))
    )
    return (await session.execute(query)).scalar_one()


async def chat_history(session: AsyncSession, chat_uuid: uuid.UUID) -> list[tuple[str, str, Any, str]]:
    """(uuid, type, parts, status) of a chat's messages, oldest first: the history of its next turn."""
    query = (
        sa.select(Message.uuid, Message.type, Message.parts, Message.status)
        .where(Message.chat_uuid == chat_uuid, Message.deleted_at.is_(None))
        .order_by(Message.seq)
    )
    return [(str(row.uuid), row.type, row.parts, row.status) for row in await session.execute(query)]


async def history_of(session: AsyncSession, message: Message) -> list[Message]:
    """The chat's messages before `message`, oldest first: what the model sees as history."""
    query = (
        sa.select(Message)
        .where(Message.chat_uuid == message.chat_uuid, Message.seq < message.seq, Message.deleted_at.is_(None))
        .order_by(Message.seq)
    )
    return list((await session.execute(query)).scalars())


async def refresh_last_message(session: AsyncSession, chat: Chat) -> None:
    last = (
        await session.execute(
            sa.select(Message.uuid, Message.status)
            .where(Message.chat_uuid == chat.uuid, Message.deleted_at.is_(None))
            .order_by(Message.seq.desc())
            .limit(1)
        )
    ).one_or_none()
    chat.last_message_uuid, chat.last_message_status = (last.uuid, last.status) if last else (None, None)
    await session.flush()


async def set_status(session: AsyncSession, message: Message, status: str) -> None:
    """Change a message's status, and its chat's `last_message_status` when it is the last message."""
    message.status = status
    await session.execute(
        sa.update(Chat)
        .where(Chat.uuid == message.chat_uuid, Chat.last_message_uuid == message.uuid)
        .values(last_message_status=status)
    )


async def expired_unfinished(session: AsyncSession, now: datetime, limit: int = 100) -> list[Message]:
    """Unfinished messages whose lease expired: their run died with its process."""
    query = (
        sa.select(Message)
        .where(UNFINISHED_SQL, Message.lease_expires_at < now)  # matches the partial index
        .order_by(Message.lease_expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(query)).scalars())


async def still_pending(session: AsyncSession, message_uuid: uuid.UUID) -> bool:
    """Lock the message's row for update: is it still `pending` (stored, claimed by no run)?"""
    message = await session.get(Message, message_uuid, with_for_update=True, populate_existing=True)
    return message is not None and message.status == "pending"


CANCEL_STEP = "cancel"
"""A `turn_steps` row (key "") that says a cancel was asked for the message: a durable run that
starts or takes over later than the broker remembers a cancel (jobs/temporal) still sees it."""


async def remember_cancel(session: AsyncSession, message_uuid: uuid.UUID) -> None:
    if await session.get(TurnStep, (message_uuid, CANCEL_STEP, "")) is None:
        session.add(TurnStep(message_uuid=message_uuid, kind=CANCEL_STEP, key="", value={}))
        await session.flush()


def lease_until(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)
