"""Chat triggers: where a chat came from. A tagged union on `type`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from .common import UUID4, CamelModel

__all__ = ["TRIGGER_TYPES", "ChatTrigger"]


class _Trigger(CamelModel):
    model_config = {"extra": "forbid"}


class ChatChatTrigger(_Trigger):
    """A sub-chat spawned from another chat."""

    type: Literal["chat"]
    uuid: UUID4
    agent_uuid: UUID4 | None = None
    message_uuid: UUID4 | None = None


class ConnectorTrigger(_Trigger):
    type: Literal["connector"]
    connector_uuid: UUID4
    meta: dict[str, Any] = Field(default_factory=dict)


class DraftTrigger(_Trigger):
    """Testing an agent's unreleased draft."""

    type: Literal["draft"]


class WebExtensionTrigger(_Trigger):
    type: Literal["web_extension"]
    url: str | None = None


class AppTrigger(_Trigger):
    type: Literal["app"]


class WorkflowTrigger(_Trigger):
    type: Literal["workflow"]
    uuid: UUID4
    node_uuid: UUID4
    run_uuid: UUID4 | None = None


class ScheduleTrigger(_Trigger):
    type: Literal["schedule"]


ChatTrigger = Annotated[
    ChatChatTrigger
    | ConnectorTrigger
    | DraftTrigger
    | WebExtensionTrigger
    | AppTrigger
    | WorkflowTrigger
    | ScheduleTrigger,
    Field(discriminator="type"),
]
TRIGGER_TYPES = ("chat", "connector", "draft", "web_extension", "app", "workflow", "schedule")
