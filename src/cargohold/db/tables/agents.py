"""Agents, their releases, tools and tool runs, a durable turn's steps and schedule ticks."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ...crypto import EncryptedJSON, EncryptedText
from ..sealed import SealedActions, SealedConfig
from ..types import JSONType, UTCDateTime, utcnow
from .base import NOT_DELETED, Base


class Agent(Base):
    """A named agent; its behaviour lives in its releases (`deployed_release_uuid` is the live one)."""

    __tablename__ = "agents"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    name: Mapped[str] = mapped_column(sa.String(200))
    icon: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(sa.Text)
    folder_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    triggers: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    template: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    is_read_only: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    deployed_release_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ix_agents_ws_created",
            "workspace_uuid",
            "created_at",
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
    )


DRAFT = sa.text("status = 'draft'")
DEPLOYED = sa.text("status = 'deployed'")


class Release(Base):
    """A versioned snapshot of an agent's configuration. One `draft` per agent (editable), at most one
    `deployed`; earlier deployed ones are `archived`."""

    __tablename__ = "releases"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    agent_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("agents.uuid"))
    parent_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    status: Mapped[str] = mapped_column(sa.String(16))
    version: Mapped[str | None] = mapped_column(sa.String(50))
    description: Mapped[str | None] = mapped_column(sa.Text)
    template_slug: Mapped[str | None] = mapped_column(sa.String(200))
    actions: Mapped[list[dict[str, Any]]] = mapped_column(SealedActions, default=list)
    resources: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    capabilities: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    suggested_actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    mcp_clients: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    system_prompt: Mapped[str | None] = mapped_column(sa.Text)
    with_reasoning: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    temperature: Mapped[float | None] = mapped_column(sa.Float)
    max_steps: Mapped[int | None] = mapped_column(sa.Integer)
    integration_slug: Mapped[str | None] = mapped_column(sa.String(100))
    connector_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    language_model_slug: Mapped[str | None] = mapped_column(sa.String(200))
    output: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    heartbeat: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    evaluator: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    deployed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        sa.Index("ix_releases_agent_created", "agent_uuid", "created_at"),
        sa.Index("ux_releases_one_draft", "agent_uuid", unique=True, sqlite_where=DRAFT, postgresql_where=DRAFT),
        sa.Index(
            "ux_releases_one_deployed", "agent_uuid", unique=True, sqlite_where=DEPLOYED, postgresql_where=DEPLOYED
        ),
    )


class Tool(Base):
    """A workspace tool served by a webhook. `headers` and `signing_secret` are secrets: stored
    encrypted to make the call, never returned (the signing secret is shown once, when the tool is
    created)."""

    __tablename__ = "tools"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    url: Mapped[str] = mapped_column(sa.String(2000))
    method: Mapped[str] = mapped_column(sa.String(10))
    input_schema: Mapped[dict[str, Any]] = mapped_column(JSONType)
    headers: Mapped[dict[str, str]] = mapped_column(EncryptedJSON, default=dict)
    signing_secret: Mapped[str] = mapped_column(EncryptedText)
    timeout_seconds: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ix_tools_ws_created",
            "workspace_uuid",
            "created_at",
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
    )


class ToolRun(Base):
    """A tool call started with `waitUntilFinished: false`: the model got `{outcome: "executing",
    runUuid}` at once; the result is recorded here when it arrives."""

    __tablename__ = "tool_runs"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    message_uuid: Mapped[UUID] = mapped_column(sa.Uuid, index=True)
    tool_call_id: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(16))
    """executing | executed | failed"""
    input: Mapped[Any] = mapped_column(SealedConfig)
    output: Mapped[Any | None] = mapped_column(JSONType)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TurnStep(Base):
    """The step journal of a turn run by Temporal workers: each completed model response, each
    completed tool call's result, and where the stream stood when each model request began. A
    worker that takes over a turn replays it instead of repeating the steps. Deleted with the
    message's finish (kept small: the journal of a running turn only)."""

    __tablename__ = "turn_steps"
    message_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("messages.uuid", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    """`response` (key: request index), `tool` (key: tool call id), `boundary` (key: request index,
    value: the stream's cursor), `lost` (key: attempt, value: the usage of a cut-off model call)."""
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ScheduleTick(Base):
    """A tick of an agent's cron trigger, claimed by the one instance that fires it: the primary
    key makes a second claim of the same (agent, trigger, tick) fail, so a tick fires once however
    many instances run the scheduler, and a tick missed while all were down fires at most once."""

    __tablename__ = "schedule_ticks"
    agent_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("agents.uuid", ondelete="CASCADE"), primary_key=True)
    trigger_key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    """A hash of the trigger's cron and text: a changed trigger is a new one."""
    tick_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.Uuid)
    chat_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    """The chat the tick made (None while it is being made, or if making it failed)."""
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
