"""Accept the body the AI SDK's `useChat` (DefaultChatTransport) posts, so a front end can point
at `/v1/ai/messages/stream` unchanged: `{id, messages, trigger, messageId, ...body}`. The chat id
becomes `chatUuid`, the last user message becomes the new message; earlier messages are ignored
(the server keeps the history). Extra transport `body` fields pass through as Cargo fields."""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import BadRequest

__all__ = ["from_ai_sdk_request", "is_ai_sdk_request"]

_AI_SDK_KEYS = {"id", "messages", "trigger", "messageId"}


def is_ai_sdk_request(body: dict[str, Any]) -> bool:
    return isinstance(body.get("messages"), list) and "parts" not in body


def _as_uuid4(value: Any) -> str | None:
    try:
        parsed = uuid.UUID(str(value))
    except ValueError:
        return None
    return str(parsed) if parsed.version == 4 else None


def from_ai_sdk_request(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("trigger") == "regenerate-message":
        raise BadRequest("Regenerating a message is not supported: send a new message instead")
    users = [m for m in body["messages"] if isinstance(m, dict) and m.get("role") == "user"]
    if not users:
        raise BadRequest("`messages` has no user message to send")
    last = users[-1]
    chat_uuid = _as_uuid4(body.get("id"))
    if chat_uuid is None:
        raise BadRequest("`id` (the chat id) must be a UUID v4: give useChat an `id` from crypto.randomUUID()")
    out = {k: v for k, v in body.items() if k not in _AI_SDK_KEYS}
    out["chatUuid"] = chat_uuid
    out["parts"] = last.get("parts")
    message_uuid = _as_uuid4(last.get("id"))
    if message_uuid is not None:
        out["uuid"] = message_uuid
    return out
