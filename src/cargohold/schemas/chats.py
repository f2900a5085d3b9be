"""Chat wire models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from .common import UUID4, CamelModel, RequestModel
from .triggers import ChatTrigger

__all__ = ["Chat", "ChatCreate", "ChatEnvelope", "ChatUpdate", "ChatsEnvelope", "MessageHeader"]


class ChatCreate(RequestModel):
    trigger: ChatTrigger = Field(description='Where the chat comes from, e.g. `{"type": "app"}`.')
    name: str | None = Field(default=None, max_length=500)
    agent_uuid: UUID4 | None = None
    release_uuid: UUID4 | None = None


class ChatUpdate(RequestModel):
    name: str | None = Field(max_length=500, description="The new name; null clears it.")


class MessageHeader(CamelModel):
    """A message without its content: what `chats/list` shows as `lastMessage`."""

    uuid: uuid.UUID
    workspace_uuid: uuid.UUID
    agent_uuid: uuid.UUID | None
    release_uuid: uuid.UUID | None
    chat_uuid: uuid.UUID
    user_uuid: uuid.UUID | None
    status: str = Field(description="pending | generating | success | error | cancelled")
    error_message: str | None
    type: str = Field(description="user | assistant")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    deleted_at: datetime | None


class Chat(CamelModel):
    uuid: uuid.UUID
    slug: str
    workspace_uuid: uuid.UUID
    user_uuid: uuid.UUID | None
    agent_uuid: uuid.UUID | None
    release_uuid: uuid.UUID | None
    name: str | None
    trigger: dict[str, Any]
    active_stream_uuid: uuid.UUID | None = Field(
        description="The assistant message streaming now; `GET /v1/ai/chats/{uuid}/stream` re-attaches."
    )
    credits_used_count: float
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    last_message: MessageHeader | None = None


class ChatEnvelope(CamelModel):
    chat: Chat


class ChatsEnvelope(CamelModel):
    chats: list[Chat]
