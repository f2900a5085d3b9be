"""Message use cases: start a turn (stored, then run in the background), read, delete, cancel."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from ..db.tables import Chat, Message
from ..db.types import utcnow
from ..errors import (
    BadRequest,
    ChatNotFound,
    LastMessageNotFinished,
    MessageAlreadyExists,
    MessageNotFound,
    MessageNotUser,
)
from ..schemas.messages import MessageCreate, MessageStream
from ..state import AppState
from ..store import chats as chat_store
from ..store import messages as message_store
from ..store.messages import lease_until
from ..store.workspaces import Principal
from ..stream.publisher import StreamPublisher
from .chats import refuse_agents

__all__ = ["cancel_messages", "delete_message", "read_message", "start_turn"]

_NOT_YET = {
    "effective_actions": "actions",
    "resources": "resources",
    "capabilities": "capabilities",
    "mcp_clients": "mcpClients",
}


def _refuse_unsupported(body: MessageStream | MessageCreate) -> None:
    for attr, wire in _NOT_YET.items():
        if getattr(body, attr):
            raise BadRequest(f"`{wire}` is not supported by this cargohold version yet; send it empty or omit it")
    if isinstance(body, MessageCreate) and (body.skill_uuids or body.output):
        raise BadRequest("`skillUuids` and `output` are not supported by this cargohold version yet")
    if body.connector_uuid is not None:
        raise BadRequest("`connectorUuid` is not supported yet: provider keys come from the server's settings")


async def start_turn(
    state: AppState, who: Principal, body: MessageStream | MessageCreate, *, create_chat: bool
) -> tuple[Message, Message]:
    """Store the user message and a pending assistant message, then submit the run. A chat that
    does not exist is created when `create_chat` (the stream endpoint), else it is a 404.
    Everything is validated first: a refused request writes nothing."""
    _refuse_unsupported(body)
    refuse_agents(body.agent_uuid, getattr(body, "release_uuid", None))
    choice = state.models.choose(body.integration_slug, body.language_model_slug)
    max_steps = body.max_steps
    if max_steps is not None and max_steps > state.settings.max_steps_limit:
        raise BadRequest(f"maxSteps must be at most {state.settings.max_steps_limit}")
    chat_uuid = body.chat_uuid or uuid.uuid4()
    user_uuid = body.uuid or uuid.uuid4()
    trigger = body.chat_trigger.model_dump(mode="json", by_alias=True) if body.chat_trigger else {"type": "app"}
    config: dict[str, Any] = {
        "system_prompt": body.system_prompt,
        "context_prompt": body.context_prompt,
        "with_reasoning": body.with_reasoning,
        "temperature": body.temperature,
        "max_steps": max_steps,
        "integration_slug": choice.integration,
        "language_model_slug": choice.slug,
    }
    try:
        async with state.sessions() as session, session.begin():
            if await message_store.message_uuid_taken(session, user_uuid):
                raise MessageAlreadyExists(f"A message with uuid {user_uuid} already exists")
            chat = await chat_store.get_chat(session, who.workspace_uuid, chat_uuid, for_update=True)
            if chat is None:
                if body.chat_uuid is not None and not create_chat:
                    raise ChatNotFound()
                if body.chat_uuid is not None and await chat_store.chat_uuid_taken(session, chat_uuid):
                    raise ChatNotFound()  # deleted, or another workspace's: not this caller's to use
                chat = await chat_store.create_chat(
                    session,
                    workspace_uuid=who.workspace_uuid,
                    chat_uuid=chat_uuid,
                    trigger=trigger,
                    user_uuid=who.user_uuid,
                )
            elif await message_store.chat_has_unfinished(session, chat.uuid):
                raise LastMessageNotFinished()
            user_message = await message_store.add_message(
                session,
                chat,
                uuid=user_uuid,
                type="user",
                status="success",
                parts=body.parts,
                user_uuid=who.user_uuid,
                finished_at=utcnow(),
            )
            assistant = await message_store.add_message(
                session,
                chat,
                uuid=uuid.uuid4(),
                type="assistant",
                status="pending",
                parts=[],
                user_uuid=who.user_uuid,
                lease_expires_at=lease_until(state.settings.lease_seconds),
                **config,
            )
            chat.active_stream_uuid = assistant.uuid
    except IntegrityError as exc:
        # Two sends raced into one chat (same seq) or reused a uuid: the loser writes nothing.
        raise LastMessageNotFinished("Another message was just sent to this chat") from exc
    await StreamPublisher(state.broker, str(assistant.uuid), state.settings.ai_sdk_version).open()
    state.executor.submit(assistant.uuid)
    return user_message, assistant


async def read_message(state: AppState, who: Principal, message_uuid: uuid.UUID) -> Message:
    async with state.sessions() as session:
        message = await message_store.get_message(session, who.workspace_uuid, message_uuid)
        if message is None:
            raise MessageNotFound()
        return message


async def list_messages(
    state: AppState, who: Principal, chat_uuid: uuid.UUID, limit: int, offset: int
) -> list[Message]:
    async with state.sessions() as session:
        if await chat_store.get_chat(session, who.workspace_uuid, chat_uuid) is None:
            raise ChatNotFound()
        return await message_store.list_messages(session, who.workspace_uuid, chat_uuid, limit=limit, offset=offset)


async def delete_message(state: AppState, who: Principal, message_uuid: uuid.UUID) -> None:
    async with state.sessions() as session, session.begin():
        message = await message_store.get_message(session, who.workspace_uuid, message_uuid)
        if message is None:
            raise MessageNotFound()
        if message.type != "user":
            raise MessageNotUser()
        message.deleted_at = utcnow()
        chat = await session.get(Chat, message.chat_uuid, with_for_update=True)
        if chat is not None:
            await message_store.refresh_last_message(session, chat)


async def cancel_messages(state: AppState, who: Principal, uuids: list[uuid.UUID]) -> None:
    """Signal each unfinished message's run, wherever it runs. Finished or unknown ones are skipped,
    as Cargo does; another workspace's are unknown."""
    async with state.sessions() as session:
        targets = []
        for message_uuid in dict.fromkeys(uuids):
            message = await message_store.get_message(session, who.workspace_uuid, message_uuid)
            if message is not None and message.status in message_store.UNFINISHED:
                targets.append(message_uuid)
    for message_uuid in targets:
        await state.broker.request_cancel(str(message_uuid))
