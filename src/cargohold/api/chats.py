"""/v1/ai/chats: HTTP only; the work is in services/chats.py."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from starlette.responses import StreamingResponse

from ..errors import BadRequest, InvalidLastEventId
from ..schemas.chats import Chat, ChatCreate, ChatEnvelope, ChatsEnvelope, ChatUpdate, MessageHeader
from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.triggers import TRIGGER_TYPES
from ..services import chats as service
from ..store.chats import ChatFilters, list_chats
from ..stream.sse import sse_response
from .deps import Caller, Offset, State

__all__ = ["chat_out", "router"]

router = APIRouter(prefix="/v1/ai/chats", tags=["AI - Chats"], responses=ERROR_RESPONSES)
Status = Literal["pending", "generating", "success", "error", "cancelling", "cancelled"]


def chat_out(chat: Any, last: Any) -> Chat:
    fields = {name: getattr(chat, name) for name in Chat.model_fields if name != "last_message"}
    header = MessageHeader.model_validate(last) if last is not None else None
    return Chat.model_validate({**fields, "last_message": header})


@router.post("", summary="Create a chat")
async def create_chat(state: State, who: Caller, body: ChatCreate) -> ChatEnvelope:
    return ChatEnvelope(chat=chat_out(*await service.create_chat(state, who, body)))


@router.get("/list", summary="List chats, newest first")
async def list_chats_route(
    state: State,
    who: Caller,
    agent_uuid: Annotated[UUID4 | None, Query(alias="agentUuid")] = None,
    release_uuid: Annotated[UUID4 | None, Query(alias="releaseUuid")] = None,
    user_uuid: Annotated[UUID4 | None, Query(alias="userUuid")] = None,
    trigger_type: Annotated[str | None, Query(alias="triggerType", description=" | ".join(TRIGGER_TYPES))] = None,
    trigger: Annotated[str | None, Query(description="Same as `triggerType`.")] = None,
    statuses: Annotated[
        list[Status] | None,
        Query(alias="messageStatuses[]", description="Status of the chat's last message."),
    ] = None,
    statuses_plain: Annotated[list[Status] | None, Query(alias="messageStatuses")] = None,
    name: Annotated[str | None, Query(max_length=500, description="Part of the name, any case.")] = None,
    created_after: Annotated[datetime | None, Query(alias="createdAfter")] = None,
    created_before: Annotated[datetime | None, Query(alias="createdBefore")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> ChatsEnvelope:
    kind = trigger_type or trigger
    if kind is not None and kind not in TRIGGER_TYPES:
        raise BadRequest(f"`triggerType` must be one of {', '.join(TRIGGER_TYPES)}")
    for stamp, label in ((created_after, "createdAfter"), (created_before, "createdBefore")):
        if stamp is not None and stamp.tzinfo is None:
            raise BadRequest(f"`{label}` needs a time zone, e.g. 2026-01-31T12:00:00Z")
    filters = ChatFilters(
        agent_uuid=agent_uuid,
        release_uuid=release_uuid,
        user_uuid=user_uuid,
        trigger_type=kind,
        message_statuses=[*(statuses or []), *(statuses_plain or [])],
        name=name,
        created_after=created_after,
        created_before=created_before,
    )
    async with state.reads() as session:
        rows = await list_chats(session, who.workspace_uuid, filters, limit=limit, offset=offset)
    return ChatsEnvelope(chats=[chat_out(chat, last) for chat, last in rows])


@router.get("/{uuid}", summary="Get a chat")
async def get_chat(state: State, who: Caller, uuid: UUID4) -> ChatEnvelope:
    return ChatEnvelope(chat=chat_out(*await service.read_chat(state, who, uuid)))


@router.put("/{uuid}", summary="Rename a chat")
async def update_chat(state: State, who: Caller, uuid: UUID4, body: ChatUpdate) -> ChatEnvelope:
    return ChatEnvelope(chat=chat_out(*await service.rename_chat(state, who, uuid, body.name)))


@router.delete("/{uuid}", summary="Delete a chat (soft: it disappears from every read)")
async def delete_chat(state: State, who: Caller, uuid: UUID4) -> dict[str, str]:
    await service.delete_chat(state, who, uuid)
    return {"outcome": "removed"}


async def resume(state: State, who: Caller, chat_uuid: uuid.UUID, last_event_id: str | None) -> Response:
    after = (last_event_id or "").strip() or None
    if after is not None and not state.broker.is_cursor(after):
        raise InvalidLastEventId()
    chat, _ = await service.read_chat(state, who, chat_uuid)
    stream_id = str(chat.active_stream_uuid) if chat.active_stream_uuid else None
    if stream_id is None or not await state.broker.exists(stream_id):
        return Response(status_code=204)
    return sse_response(state.broker, stream_id, after=after, keepalive=state.settings.keepalive_seconds)


@router.get(
    "/{uuid}/stream",
    summary="Re-attach to the chat's active stream",
    description="Replays the active stream from the start (or after `Last-Event-ID`), then follows it "
    "live. 204 when the chat has no active stream.",
    response_class=StreamingResponse,
    responses={204: {"description": "No active stream"}},
)
async def resume_stream(
    state: State, who: Caller, uuid: UUID4, last_event_id: Annotated[str | None, Header()] = None
) -> Response:
    return await resume(state, who, uuid, last_event_id)
