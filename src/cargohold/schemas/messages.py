"""Message wire models: what a client sends to start a turn, and what it reads back."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, model_validator
from pydantic_ai.ui.vercel_ai.request_types import SubmitMessage

from .actions import WithActions
from .chats import MessageHeader
from .common import UUID4, CamelModel, RequestModel
from .safe import FreeJsonObject, FreeJsonObjects
from .secrets import MaskedActions, MaskedMcpClients
from .triggers import ChatTrigger

__all__ = [
    "Message",
    "MessageCancel",
    "MessageCreate",
    "MessageEnvelope",
    "MessagePair",
    "MessageStream",
    "MessagesEnvelope",
    "TurnFields",
    "Usage",
    "UseChatRequest",
]


Parts = Annotated[
    list[dict[str, Any]],
    Field(
        min_length=1,
        description='AI SDK UIMessage parts, e.g. `[{"type": "text", "text": "Hi"}]`, each of a shape the '
        "server's AI SDK version knows (a 400 names a part that is not). Unknown keys inside a known part "
        "are kept (AI SDK versions differ) but never given to the model.",
    ),
]
JsonObjects = FreeJsonObjects


class TurnFields(WithActions):
    """The fields that configure a turn; each overrides the agent's release when given."""

    resources: JsonObjects | None = None
    capabilities: JsonObjects | None = None
    mcp_clients: JsonObjects | None = None
    system_prompt: str | None = Field(default=None, max_length=200_000)
    context_prompt: str | None = Field(
        default=None, max_length=200_000, description="Extra context added to the instructions of this turn."
    )
    with_reasoning: bool | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_steps: int | None = Field(default=None, ge=1, description="The most model steps in the tool loop.")
    language_model_slug: str | None = Field(default=None, max_length=200)
    integration_slug: str | None = Field(default=None, max_length=100)
    connector_uuid: UUID4 | None = None


class MessageStream(TurnFields):
    """Body of `POST /v1/ai/messages/stream`."""

    chat_uuid: UUID4 = Field(description="The chat; created (from `chatTrigger`) when it does not exist yet.")
    chat_trigger: ChatTrigger | None = Field(default=None, description="Trigger of a chat created by this call.")
    uuid: UUID4 | None = Field(default=None, description="The client-chosen uuid of the user message.")
    parts: Parts
    agent_uuid: UUID4 | None = None


class MessageCreate(TurnFields):
    """Body of `POST /v1/ai/messages`: stores the turn and runs it in the background."""

    chat_uuid: UUID4 | None = Field(default=None, description="The chat; a new one is created when absent.")
    chat_trigger: ChatTrigger | None = None
    uuid: UUID4 | None = None
    parts: Parts
    agent_uuid: UUID4 | None = None
    release_uuid: UUID4 | None = None
    skill_uuids: list[UUID4] | None = None
    output: FreeJsonObject | None = None


class UseChatMessage(CamelModel):
    """A message of a `useChat` body. Only the last user message is read (the server keeps the
    history); its parts are checked like any message's."""

    model_config = ConfigDict(extra="allow")
    id: str = ""
    role: str
    parts: list[dict[str, Any]] = Field(default_factory=list)


class UseChatRequest(SubmitMessage):
    """The body the AI SDK's `useChat` (`DefaultChatTransport`) posts: `{id, messages, trigger,
    messageId?, ...body}`. Extra transport `body` fields are Cargo fields of `MessageStream`."""

    trigger: Literal["submit-message", "regenerate-message"] = "submit-message"  # type: ignore[assignment]
    messages: list[UseChatMessage]  # type: ignore[assignment]
    message_id: str | None = None


class MessageCancel(RequestModel):
    uuids: list[UUID4] = Field(min_length=1, max_length=500)


class Usage(CamelModel):
    input_tokens_count: int = 0
    output_tokens_count: int = 0
    tokens_used_count: int = Field(default=0, description="Input plus output tokens.")
    cache_read_tokens_count: int = 0
    cache_write_tokens_count: int = 0
    reasoning_tokens_count: int = 0
    credits_used_count: float = 0.0
    language_model_slug: str | None = None
    connector_uuid: UUID | None = None
    requests_count: int = Field(default=0, description="Model requests (steps) made.")
    is_estimated: bool = Field(
        default=False,
        description="True when part of the output was estimated: a model call cut off mid-stream "
        "(cancel, error, crash) reports no usage of its own.",
    )


class Message(MessageHeader):
    """A message with its content and the configuration its turn ran with."""

    parts: list[dict[str, Any]]
    actions: MaskedActions = Field(description="Pinned secrets (headers, keys) are never returned in clear.")
    tools: MaskedActions = Field(description="Same as `actions` (older name).")
    resources: list[dict[str, Any]]
    capabilities: list[dict[str, Any]]
    mcp_clients: MaskedMcpClients = Field(description="Secrets (tokens, client secrets) are never returned in clear.")
    system_prompt: str | None
    context_prompt: str | None
    with_reasoning: bool | None
    temperature: float | None
    max_steps: int | None
    integration_slug: str | None
    connector_uuid: UUID | None
    language_model_slug: str | None
    evaluated_tools: dict[str, Any]
    usage: Usage | None
    output: Any | None
    meta: dict[str, Any] | None
    suggested_actions: list[dict[str, Any]]
    temporal_workflow_id: str | None

    @model_validator(mode="before")
    @classmethod
    def _tools_alias(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            data = {name: getattr(data, name) for name in cls.model_fields if name != "tools"}
        # Secrets are masked by the fields' serializers (schemas/secrets.py).
        return {**data, "tools": data.get("actions", []), "mcp_clients": data.get("mcp_clients") or []}


class MessageEnvelope(CamelModel):
    message: Message


class MessagesEnvelope(CamelModel):
    messages: list[Message]


class MessagePair(CamelModel):
    user_message: Message
    assistant_message: Message
