"""Chat use cases."""

from __future__ import annotations

import uuid

from ..db.tables import Chat, Message
from ..errors import AgentNotFound, ChatNotFound, ReleaseNotFound
from ..schemas.chats import ChatCreate
from ..state import AppState
from ..store import agents as agent_store
from ..store import chats as chat_store
from ..store import releases as release_store
from ..store.workspaces import Principal

__all__ = ["create_chat", "delete_chat", "read_chat", "rename_chat"]


async def create_chat(state: AppState, who: Principal, body: ChatCreate) -> tuple[Chat, Message | None]:
    async with state.sessions() as session, session.begin():
        agent_uuid, release_uuid = body.agent_uuid, body.release_uuid
        if agent_uuid is not None and await agent_store.get_agent(session, who.workspace_uuid, agent_uuid) is None:
            raise AgentNotFound(f"Agent {agent_uuid} not found")
        if release_uuid is not None:
            release = await release_store.get_release(session, who.workspace_uuid, release_uuid)
            if release is None or (agent_uuid is not None and release.agent_uuid != agent_uuid):
                raise ReleaseNotFound(f"Release {release_uuid} not found" + (" for this agent" if release else ""))
            agent_uuid = release.agent_uuid
        chat = await chat_store.create_chat(
            session,
            workspace_uuid=who.workspace_uuid,
            chat_uuid=uuid.uuid4(),
            trigger=body.trigger.model_dump(mode="json", by_alias=True),
            user_uuid=who.user_uuid,
            name=body.name,
            agent_uuid=agent_uuid,
            release_uuid=release_uuid,
        )
    return chat, None


async def read_chat(state: AppState, who: Principal, chat_uuid: uuid.UUID) -> tuple[Chat, Message | None]:
    async with state.sessions() as session:
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
