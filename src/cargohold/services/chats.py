"""Chat use cases."""

from __future__ import annotations

import asyncio
import uuid

from ..db.tables import Chat, Message
from ..errors import ChatNotFound
from ..runtime.capabilities.code_interpreter import sandbox_root
from ..sandbox import remove_chat_workdir
from ..schemas.chats import ChatCreate
from ..state import AppState
from ..store import chats as chat_store
from ..store.workspaces import Principal
from .agents import require_agent
from .releases import named_release

__all__ = ["create_chat", "delete_chat", "read_chat", "rename_chat"]


async def create_chat(state: AppState, who: Principal, body: ChatCreate) -> tuple[Chat, Message | None]:
    async with state.sessions() as session, session.begin():
        agent_uuid, release_uuid = body.agent_uuid, body.release_uuid
        if agent_uuid is not None:
            await require_agent(session, who, agent_uuid)
        if release_uuid is not None:
            agent_uuid = (await named_release(session, who, release_uuid, agent_uuid)).agent_uuid
        chat = chat_store.new_chat(
            workspace_uuid=who.workspace_uuid,
            chat_uuid=uuid.uuid4(),
            trigger=body.trigger.model_dump(mode="json", by_alias=True),
            user_uuid=who.user_uuid,
            name=body.name,
            agent_uuid=agent_uuid,
            release_uuid=release_uuid,
        )
        session.add(chat)
    return chat, None


async def read_chat(state: AppState, who: Principal, chat_uuid: uuid.UUID) -> tuple[Chat, Message | None]:
    async with state.reads() as session:
        chat = await chat_store.get_chat(session, who.workspace_uuid, chat_uuid)
        if chat is None:
            raise ChatNotFound()
        return chat, await chat_store.get_last_message(session, chat)


async def rename_chat(
    state: AppState, who: Principal, chat_uuid: uuid.UUID, name: str | None
) -> tuple[Chat, Message | None]:
    async with state.sessions() as session, session.begin():
        chat = await chat_store.get_chat(session, who.workspace_uuid, chat_uuid, for_update=True)
        if chat is None:
            raise ChatNotFound()
        chat.name = name
        await session.flush()
        return chat, await chat_store.get_last_message(session, chat)


async def delete_chat(state: AppState, who: Principal, chat_uuid: uuid.UUID) -> None:
    async with state.sessions() as session, session.begin():
        chat = await chat_store.get_chat(session, who.workspace_uuid, chat_uuid, for_update=True)
        if chat is None:
            raise ChatNotFound()
        active = chat.active_stream_uuid
        await chat_store.soft_delete_chat(session, chat)
    if active is not None:  # a deleted chat's turn has no reader left to serve
        await state.broker.request_cancel(str(active))
    # The code interpreter's files of this chat go with it (the sandbox directory is per chat).
    await asyncio.to_thread(remove_chat_workdir, sandbox_root(state.settings), who.workspace_uuid, chat_uuid)
