"""Votes: a user's thumbs up or down on a message of a chat of the workspace (one per user and
message; voting again changes it)."""

from __future__ import annotations

import uuid

from ..db.tables import Vote
from ..errors import ChatNotFound, MessageNotFound
from ..state import AppState
from ..store import chats as chat_store
from ..store import messages as message_store
from ..store import votes as store
from ..store.workspaces import Principal

__all__ = ["list_votes", "vote"]


async def vote(
    state: AppState, who: Principal, chat_uuid: uuid.UUID, message_uuid: uuid.UUID, is_upvoted: bool
) -> Vote:
    async with state.sessions() as session, session.begin():
        if await chat_store.get_chat(session, who.workspace_uuid, chat_uuid) is None:
            raise ChatNotFound()
        message = await message_store.get_message(session, who.workspace_uuid, message_uuid)
        if message is None or message.chat_uuid != chat_uuid:
            raise MessageNotFound()
        return await store.put_vote(session, who.workspace_uuid, chat_uuid, message_uuid, who.user_uuid, is_upvoted)


async def list_votes(state: AppState, who: Principal, chat_uuid: uuid.UUID) -> list[Vote]:
    async with state.reads() as session:
        if await chat_store.get_chat(session, who.workspace_uuid, chat_uuid) is None:
            raise ChatNotFound()
        return await store.chat_votes(session, who.workspace_uuid, chat_uuid)
