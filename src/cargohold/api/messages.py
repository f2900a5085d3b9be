"""/v1/ai/messages: HTTP only; the work is in services/messages.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response
from pydantic import Tag
from starlette.responses import StreamingResponse

from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.messages import (
    Message,
    MessageCancel,
    MessageCreate,
    MessageEnvelope,
    MessagePair,
    MessagesEnvelope,
    MessageStream,
    UseChatRequest,
)
from ..services import messages as service
from ..stream.sse import sse_response
from .ai_sdk import STREAM_BODY, from_use_chat
from .chats import resume
from .deps import Caller, Offset, State

__all__ = ["router"]

StreamBody = Annotated[
    Annotated[MessageStream, Tag("cargo")] | Annotated[UseChatRequest, Tag("useChat")],
    STREAM_BODY,
    Body(),
]

router = APIRouter(prefix="/v1/ai/messages", tags=["AI - Messages"], responses=ERROR_RESPONSES)


@router.post("", summary="Send a message; the turn runs in the background (poll the assistant message)")
async def create_message(state: State, who: Caller, body: MessageCreate) -> MessagePair:
    user, assistant = await service.start_turn(state, who, body, create_chat=False)
    return MessagePair(user_message=Message.model_validate(user), assistant_message=Message.model_validate(assistant))


@router.post(
    "/stream",
    summary="Send a message and stream the agent's turn (AI SDK UI message stream)",
    description="Answers `text/event-stream` with the Vercel AI SDK UI message stream, from `start` to "
    "`finish`, then `data: [DONE]`. The turn does not depend on this connection: disconnecting stops "
    "nothing; re-attach with `GET /v1/ai/chats/{uuid}/stream`, stop with `POST /v1/ai/messages/cancel`. "
    "Also accepts the AI SDK `useChat` request body (`{id, messages, ...}`).",
    response_class=StreamingResponse,
)
async def stream_message(state: State, who: Caller, body: StreamBody) -> Response:
    if isinstance(body, UseChatRequest):
        body = from_use_chat(body)
    _, assistant = await service.start_turn(state, who, body, create_chat=True)
    return sse_response(state.broker, str(assistant.uuid), after=None, keepalive=state.settings.keepalive_seconds)


@router.get(
    "/stream/{uuid}/stream",
    summary="Re-attach to a chat's active stream (the AI SDK's default resume path)",
    response_class=StreamingResponse,
    responses={204: {"description": "No active stream"}},
)
async def resume_ai_sdk(
    state: State, who: Caller, uuid: UUID4, last_event_id: Annotated[str | None, Header()] = None
) -> Response:
    return await resume(state, who, uuid, last_event_id)


@router.post("/cancel", summary="Stop generating messages, on whichever instance runs them")
async def cancel_messages(state: State, who: Caller, body: MessageCancel) -> dict[str, Any]:
    await service.cancel_messages(state, who, body.uuids)
    return {}


@router.get("/list", summary="List a chat's messages, oldest first")
async def list_messages(
    state: State,
    who: Caller,
    chat_uuid: Annotated[UUID4, Query(alias="chatUuid")],
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> MessagesEnvelope:
    rows = await service.list_messages(state, who, chat_uuid, limit, offset)
    return MessagesEnvelope(messages=[Message.model_validate(row) for row in rows])


@router.get("/{uuid}", summary="Get a message")
async def get_message(state: State, who: Caller, uuid: UUID4) -> MessageEnvelope:
    return MessageEnvelope(message=Message.model_validate(await service.read_message(state, who, uuid)))


@router.delete("/{uuid}", summary="Delete a user message")
async def delete_message(state: State, who: Caller, uuid: UUID4) -> dict[str, Any]:
    await service.delete_message(state, who, uuid)
    return {}
