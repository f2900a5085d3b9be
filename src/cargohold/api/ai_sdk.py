"""Accept the body the AI SDK's `useChat` (DefaultChatTransport) posts, so a front end can point
at `/v1/ai/messages/stream` unchanged: `{id, messages, trigger, messageId, ...body}` (pydantic-ai's
`SubmitMessage`, see `schemas.messages.UseChatRequest`). The chat id becomes `chatUuid`, the last
user message becomes the new message; earlier messages are ignored (the server keeps the
history). Extra transport `body` fields pass through as Cargo fields."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import Discriminator, ValidationError

from ..errors import BadRequest
from ..schemas.messages import MessageStream, UseChatRequest
from .errors import validation_message

__all__ = ["STREAM_BODY", "body_kind", "from_use_chat"]


def body_kind(body: Any) -> str:
    """`useChat` when the body has `messages` and no `parts`, else Cargo's `MessageStream`."""
    if isinstance(body, dict) and isinstance(body.get("messages"), list) and "parts" not in body:
        return "useChat"
    return "cargo"


STREAM_BODY = Discriminator(body_kind)


def _as_uuid4(value: Any) -> str | None:
    try:
        parsed = uuid.UUID(str(value))
    except ValueError:
        return None
    return str(parsed) if parsed.version == 4 else None


def from_use_chat(body: UseChatRequest) -> MessageStream:
    if body.trigger == "regenerate-message":
        raise BadRequest("Regenerating a message is not supported: send a new message instead")
    users = [m for m in body.messages if m.role == "user"]
    if not users:
        raise BadRequest("`messages` has no user message to send")
    last = users[-1]
    chat_uuid = _as_uuid4(body.id)
    if chat_uuid is None:
        raise BadRequest("`id` (the chat id) must be a UUID v4: give useChat an `id` from crypto.randomUUID()")
    fields: dict[str, Any] = dict(body.model_extra or {})
    fields["chatUuid"] = chat_uuid
    fields["parts"] = last.parts
    message_uuid = _as_uuid4(last.id)
    if message_uuid is not None:
        fields["uuid"] = message_uuid
    try:
        return MessageStream.model_validate(fields)
    except ValidationError as exc:
        raise BadRequest(validation_message(list(exc.errors()))) from exc
