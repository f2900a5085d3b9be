"""Agent wire models. `triggers` (D-new) is also accepted and returned as `deployments` (D-old)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, field_validator, model_validator

from ..cron import Cron, CronError
from .common import UUID4, CamelModel, RequestModel
from .releases import ReleaseSummary
from .safe import FreeJsonObject

__all__ = ["Agent", "AgentCreate", "AgentEnvelope", "AgentUpdate", "AgentsEnvelope", "Icon", "Trigger"]

_CRON_FIELD = re.compile(r"^[\d*/,\-A-Za-z?LW#]+$")


class Icon(CamelModel):
    model_config = ConfigDict(extra="forbid")

    color: Literal["grey", "green", "purple", "yellow", "blue", "red"] = "grey"
    face: str = Field(default="🤖", min_length=1, max_length=16, description="An emoji.")


class _Trigger(CamelModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)


class ConnectorTrigger(_Trigger):
    type: Literal["connector"]
    connector_uuid: UUID4 | None = None
    integration_slug: str = Field(max_length=100)
    config: FreeJsonObject = Field(default_factory=dict)


class CronTrigger(_Trigger):
    """Fired on each tick (jobs/schedules.py): a chat with trigger `schedule` gets `text` as its user message."""

    type: Literal["cron"]
    cron: str = Field(max_length=200, description="Five fields: minute hour day-of-month month day-of-week.")
    text: str = Field(max_length=20_000, description="The prompt sent on each tick.")
    temporal_schedule_workflow_id: str | None = Field(
        default=None,
        max_length=300,
        exclude=True,
        description="Server-set (the Temporal Schedule firing the trigger, when Temporal runs the turns): "
        "ignored when sent, so an agent read can be sent back as it is.",
    )

    @field_validator("cron")
    @classmethod
    def _five_fields(cls, value: str) -> str:
        fields = value.split()
        if len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields):
            raise ValueError("must be a cron expression of five fields, e.g. `0 9 * * 1-5`")
        try:
            Cron.parse(value)
        except CronError as exc:
            raise ValueError(f"must be a cron expression of five fields, e.g. `0 9 * * 1-5`: {exc}") from None
        return value


Trigger = Annotated[ConnectorTrigger | CronTrigger, Field(discriminator="type")]


class _TriggersAlias(RequestModel):
    triggers: list[Trigger] | None = Field(default=None, max_length=50)
    deployments: list[Trigger] | None = Field(default=None, max_length=50, description="Older name of `triggers`.")

    @model_validator(mode="after")
    def _one_name(self) -> _TriggersAlias:
        if self.triggers is not None and self.deployments is not None:
            raise ValueError("send `triggers` or `deployments`, not both")
        return self

    @property
    def effective_triggers(self) -> list[ConnectorTrigger | CronTrigger] | None:
        return self.triggers if self.triggers is not None else self.deployments


class AgentCreate(_TriggersAlias):
    name: str = Field(min_length=1, max_length=200)
    icon: Icon = Field(default_factory=Icon)
    description: str | None = Field(default=None, max_length=10_000)
    folder_uuid: UUID4 | None = None


class AgentUpdate(_TriggersAlias):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    icon: Icon | None = None
    description: str | None = Field(default=None, max_length=10_000)
    folder_uuid: UUID4 | None = None
    template: FreeJsonObject | None = None


class Agent(CamelModel):
    uuid: UUID
    workspace_uuid: UUID
    user_uuid: UUID | None
    name: str
    icon: dict[str, Any] | None
    description: str | None
    folder_uuid: UUID | None
    triggers: list[dict[str, Any]]
    deployments: list[dict[str, Any]] = Field(description="Same as `triggers` (older name).")
    deployed_release: ReleaseSummary | None
    template: dict[str, Any] | None
    is_read_only: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class AgentEnvelope(CamelModel):
    agent: Agent


class AgentsEnvelope(CamelModel):
    agents: list[Agent]
