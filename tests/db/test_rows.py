"""A turn's chat and messages are written with Core INSERTs (`db/tables/base.insert_rows`), not the
ORM's flush: the objects must be exactly what was written, every column included, on both
databases; a chat that was read is still updated by the session."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from cargohold.db.tables import Chat, Message, complete
from cargohold.store import chats as chat_store
from cargohold.store import messages as message_store

from ..conftest import Tenant
from ..harness import Server


def _columns(row: Any) -> dict[str, Any]:
    return {prop.key: getattr(row, prop.key) for prop in sa.inspect(type(row)).column_attrs}


def test_complete_gives_every_column_its_default() -> None:
    message = Message(uuid=uuid.uuid4(), parts=[{"type": "text", "text": "hi"}])
    complete(message)
    assert message.parts == [{"type": "text", "text": "hi"}]  # given: kept
    assert message.actions == [] and message.evaluated_tools == {}  # callable defaults, one each
    assert isinstance(message.created_at, datetime) and message.created_at.tzinfo is not None
    assert message.usage is None and message.error_message is None  # no default: None
    other = Message()
    complete(other)
    assert other.actions is not message.actions  # a new list per row, never shared
    chat = Chat(uuid=uuid.uuid4())
    complete(chat)
    assert chat.credits_used_count == 0.0 and chat.message_seq == 0  # scalar defaults


class _Base(DeclarativeBase):
    pass


class _ServerMade(_Base):
    __tablename__ = "server_made"
    id: Mapped[int] = mapped_column(primary_key=True)
    stamp: Mapped[str] = mapped_column(server_default=sa.text("CURRENT_TIMESTAMP"))


def test_complete_refuses_a_column_only_the_database_fills() -> None:
    with pytest.raises(ValueError, match="server default"):
        complete(_ServerMade(id=1))
    complete(_ServerMade(id=1, stamp="given"))  # given a value: nothing to refuse


async def test_a_turns_rows_are_what_was_written(server: Server, tenant: Tenant) -> None:
    state = server.state
    async with state.sessions() as session, session.begin():
        chat = chat_store.new_chat(
            workspace_uuid=tenant.workspace_uuid,
            chat_uuid=uuid.uuid4(),
            trigger={"type": "app"},
            user_uuid=tenant.user_uuid,
            name="rows",
        )
        first = [
            message_store.new_message(chat, type="user", status="success", parts=[{"type": "text", "text": "q"}]),
            message_store.new_message(chat, type="assistant", status="generating", parts=[], usage={"n": 1}),
        ]
        await message_store.insert_turn(session, chat, first, chat_is_new=True)
        assert chat not in session and not any(message in session for message in first)
    async with state.reads() as session:
        assert _columns(await session.get(Chat, chat.uuid)) == _columns(chat)
        for message in first:
            assert _columns(await session.get(Message, message.uuid)) == _columns(message)

    async with state.sessions() as session, session.begin():  # a second turn in the chat, read first
        read, _ = await chat_store.chat_for_turn(session, tenant.workspace_uuid, chat.uuid)
        assert read is not None
        second = [message_store.new_message(read, type="user", status="success", parts=[])]
        await message_store.insert_turn(session, read, second, chat_is_new=False)
    async with state.reads() as session:
        stored = await session.get(Chat, chat.uuid)
        assert stored is not None
        assert (stored.message_seq, stored.last_message_uuid, stored.last_message_status) == (
            3,
            second[0].uuid,
            "success",
        )
        listed = await message_store.list_messages(session, tenant.workspace_uuid, chat.uuid, limit=10, offset=0)
        assert [m.seq for m in listed] == [1, 2, 3]
