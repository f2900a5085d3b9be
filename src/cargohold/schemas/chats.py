"""Chat wire models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, Field, field_validator

from ..runtime.credits import round_credits
from .common import UUID4, CamelModel, RequestModel
from .safe import check_free_json
from .triggers import ChatTrigger

__all__ = ["Chat", "ChatCreate", "ChatEnvelope", "ChatUpdate", "ChatsEnvelope", "MessageHeader"]


class ChatCreate(RequestModel):
    trigger: ChatTrigger = Field(description='Where the chat comes from, e.g. `{"type": "app"}`.')
    name: str | None = Field(default=None, max_length=500)
    agent_uuid: UUID4 | None = None
    release_uuid: UUID4 | None = None

    @field_validator("trigger")
    @classmethod
    def _bounded_trigger(cls, trigger: Any) -> Any:
        check_free_json(trigger.model_dump(mode="json"))  # a connector trigger's `meta` is free-form
        return trigger


class ChatUpdate(RequestModel):
    name: str | None = Field(max_length=500, description="The new name; null clears it.")


class MessageHeader(CamelModel):
    """A message without its content: what `chats/list` shows as `lastMessage`."""

    uuid: UUID
    workspace_uuid: UUID
    agent_uuid: UUID | None
    release_uuid: UUID | None
    chat_uuid: UUID
    user_uuid: UUID | None
    status: str = Field(description="pending | generating | success | error | cancelled")
    error_message: str | None
    type: str = Field(description="user | assistant")
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    deleted_at: datetime | None


class Chat(CamelModel):
    uuid: UUID
    slug: str
    workspace_uuid: UUID
    user_uuid: UUID | None
    agent_uuid: UUID | None
    release_uuid: UUID | None
    name: str | None
    trigger: dict[str, Any]
    active_stream_uuid: UUID | None = Field(
        description="The assistant message streaming now; `GET /v1/ai/chats/{uuid}/stream` re-attaches."
    )
    credits_used_count: Annotated[float, AfterValidator(round_credits)] = Field(
        description="Credits used by the chat's messages, a decimal with 6 places."
    )
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    last_message: MessageHeader | None = None


class ChatEnvelope(CamelModel):
    chat: Chat


class ChatsEnvelope(CamelModel):
    chats: list[Chat]
