"""Release wire models: an agent's versioned configuration. `actions` is also accepted and returned
as `tools` (the older name)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field

from .actions import WithActions
from .common import UUID4, CamelModel, RequestModel
from .safe import FreeJsonObject, FreeJsonObjects
from .secrets import MaskedActions, MaskedMcpClients

__all__ = [
    "Heartbeat",
    "Release",
    "ReleaseDeploy",
    "ReleaseDraftUpdate",
    "ReleaseEnvelope",
    "ReleaseStatus",
    "ReleaseSummary",
    "ReleasesEnvelope",
]

ReleaseStatus = Literal["draft", "deployed", "archived"]
JsonObjects = list[dict[str, Any]]


class ReleaseOptions(RequestModel):
    connector_uuids_by_integration_slug: dict[str, UUID4] | None = None
    model_uuids_by_integration_slug: dict[str, UUID4] | None = None


class Heartbeat(CamelModel):
    """A release's heartbeat (jobs/schedules.py): every `intervalMinutes`, each chat of the agent that
    is not answering gets `prompt` as a user message (a default prompt when null), at most
    `maxMessages` times per chat."""

    model_config = ConfigDict(extra="forbid")

    interval_minutes: int = Field(ge=1, le=525_600, description="Minutes between two wake-ups (at most a year).")
    max_messages: int = Field(ge=1, le=10_000, description="How many times one chat is woken at most.")
    prompt: str | None = Field(default=None, min_length=1, max_length=20_000)


class ReleaseConfigIn(WithActions):
    """The editable configuration of a draft. An omitted field keeps its value."""

    agent_uuid: UUID4
    mcp_clients: FreeJsonObjects | None = None
    resources: FreeJsonObjects | None = None
    capabilities: FreeJsonObjects | None = None
    suggested_actions: FreeJsonObjects | None = Field(default=None, max_length=50)
    system_prompt: str | None = Field(default=None, max_length=200_000)
    with_reasoning: bool | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_steps: int | None = Field(default=None, ge=1)
    integration_slug: str | None = Field(default=None, max_length=100)
    connector_uuid: UUID4 | None = None
    language_model_slug: str | None = Field(default=None, max_length=200)
    output: FreeJsonObject | None = None
    heartbeat: Heartbeat | None = None
    evaluator: FreeJsonObject | None = None
    options: ReleaseOptions | None = None


class ReleaseDraftUpdate(ReleaseConfigIn):
    """Body of `PUT /v1/ai/releases/updateDraft` (also `/draft/update`)."""

    parent_uuid: UUID4 | None = None


class ReleaseDeploy(ReleaseConfigIn):
    """Body of `POST /v1/ai/releases/deployDraft` (also `/draft/deploy`): config fields given here
    update the draft first; then it is frozen as `deployed`."""

    version: str | None = Field(
        default=None,
        max_length=50,
        description="Dotted numbers (`1`, `1.2`, `1.2.3`) above every earlier version of the agent; "
        "omitted: the last version with its last number plus one (`1.0.0` first).",
    )
    description: str | None = Field(default=None, max_length=10_000)


class ReleaseSummary(CamelModel):
    """An agent's `deployedRelease`: a release without its lineage and status."""

    uuid: UUID
    user_uuid: UUID | None
    description: str | None
    template_slug: str | None
    version: str | None
    actions: MaskedActions = Field(description="Secrets pinned in `config` (headers, keys) never show in clear.")
    tools: MaskedActions = Field(description="Same as `actions` (older name).")
    capabilities: JsonObjects
    suggested_actions: JsonObjects
    system_prompt: str | None
    with_reasoning: bool
    temperature: float | None
    max_steps: int | None
    integration_slug: str | None
    connector_uuid: UUID | None
    language_model_slug: str | None
    mcp_clients: MaskedMcpClients = Field(description="Secrets (tokens, client secrets) are never returned in clear.")
    resources: JsonObjects
    output: dict[str, Any] | None
    heartbeat: dict[str, Any] | None
    evaluator: dict[str, Any] | None
    deployed_at: datetime | None
    created_at: datetime


class Release(ReleaseSummary):
    parent_uuid: UUID | None
    workspace_uuid: UUID
    agent_uuid: UUID
    status: ReleaseStatus
    updated_at: datetime


class ReleaseEnvelope(CamelModel):
    release: Release


class ReleasesEnvelope(CamelModel):
    releases: list[Release]
