"""Workspaces, users, their API tokens, chats and messages, and what hangs off a chat (votes,
suggested actions, documents, memories)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..sealed import SealedActions
from ..types import JSONType, UTCDateTime, utcnow
from .base import NOT_DELETED, UNFINISHED, Base


class Workspace(Base):
    __tablename__ = "workspaces"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """An API token. Only its SHA-256 is stored; `prefix` lets a person tell tokens apart."""

    __tablename__ = "api_tokens"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"), index=True)
    user_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("users.uuid"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Chat(Base):
    __tablename__ = "chats"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    agent_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    release_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    slug: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str | None] = mapped_column(sa.String(500))
    trigger: Mapped[dict[str, Any]] = mapped_column(JSONType)
    trigger_type: Mapped[str] = mapped_column(sa.String(32))
    active_stream_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    credits_used_count: Mapped[float] = mapped_column(sa.Float, default=0.0)
    message_seq: Mapped[int] = mapped_column(sa.Integer, default=0)
    """The `seq` of the chat's newest message: messages are numbered 1, 2, ... within a chat."""
    last_message_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    last_message_status: Mapped[str | None] = mapped_column(sa.String(16))
    """The status of `last_message_uuid`, kept in step by store/messages.py (`set_status`), so the
    `messageStatuses[]` filter of `chats/list` is an index range scan, not a join per chat."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # `chats/list` is newest first within a workspace, optionally narrowed by one of these columns;
    # partial indexes on live rows keep the first page an index range scan at 100k+ chats.
    __table_args__ = (
        sa.Index(
            "ix_chats_ws_created",
            "workspace_uuid",
            "created_at",
            "uuid",
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
        *(
            sa.Index(
                f"ix_chats_ws_{col}_created",
                "workspace_uuid",
                col,
                "created_at",
                "uuid",
                sqlite_where=NOT_DELETED,
                postgresql_where=NOT_DELETED,
            )
            for col in ("agent_uuid", "release_uuid", "user_uuid", "trigger_type", "last_message_status")
        ),
    )


class Message(Base):
    __tablename__ = "messages"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    chat_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("chats.uuid"))
    seq: Mapped[int] = mapped_column(sa.Integer)
    agent_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    release_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    type: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    # The effective configuration the turn ran with (request fields over the agent's release).
    actions: Mapped[list[dict[str, Any]]] = mapped_column(SealedActions, default=list)
    resources: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    capabilities: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    mcp_clients: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    system_prompt: Mapped[str | None] = mapped_column(sa.Text)
    context_prompt: Mapped[str | None] = mapped_column(sa.Text)
    with_reasoning: Mapped[bool | None] = mapped_column(sa.Boolean)
    temperature: Mapped[float | None] = mapped_column(sa.Float)
    max_steps: Mapped[int | None] = mapped_column(sa.Integer)
    integration_slug: Mapped[str | None] = mapped_column(sa.String(100))
    connector_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    language_model_slug: Mapped[str | None] = mapped_column(sa.String(200))
    evaluated_tools: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    output: Mapped[Any | None] = mapped_column(JSONType)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    suggested_actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    temporal_workflow_id: Mapped[str | None] = mapped_column(sa.String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Renewed by the instance running the turn; the reaper ends a message whose lease expired."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        # Also the guard against two concurrent sends in one chat: both would take the same seq.
        sa.UniqueConstraint("chat_uuid", "seq"),
        sa.Index(
            "ix_messages_unfinished_lease",
            "lease_expires_at",
            sqlite_where=UNFINISHED,
            postgresql_where=UNFINISHED,
        ),
    )


class Memory(Base):
    """A fact the `memory` capability saved, owned by a user (`scope: user`) or by an agent
    (`scope: agent`) of a workspace. `normalized` finds the same fact saved again (it is updated,
    not copied); `embedding` (float32, L2-normalised) when an embedder is configured. A deleted
    memory is deleted: no model sees it again."""

    __tablename__ = "memories"
    mem0_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    scope: Mapped[str] = mapped_column(sa.String(16))
    """user | agent"""
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    agent_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    content: Mapped[str] = mapped_column(sa.Text)
    normalized: Mapped[str] = mapped_column(sa.Text)
    embedding: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.Index("ix_memories_user", "workspace_uuid", "user_uuid", "updated_at"),
        sa.Index("ix_memories_agent", "workspace_uuid", "agent_uuid", "updated_at"),
    )


class Document(Base):
    """One version of a canvas document (`document` capability): `(uuid, created_at)` is the key,
    the newest version is the document."""

    __tablename__ = "documents"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    chat_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    title: Mapped[str | None] = mapped_column(sa.String(500))
    kind: Mapped[str] = mapped_column(sa.String(16))
    """text | code | image | sheet"""
    content: Mapped[str] = mapped_column(sa.Text)

    __table_args__ = (sa.Index("ix_documents_ws_uuid", "workspace_uuid", "uuid", "created_at"),)


class Vote(Base):
    """A user's thumbs up or down on a message (one per user and message)."""

    __tablename__ = "votes"
    message_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("messages.uuid"), primary_key=True)
    user_uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    chat_uuid: Mapped[UUID] = mapped_column(sa.Uuid)
    is_upvoted: Mapped[bool] = mapped_column(sa.Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.Index("ix_votes_ws_chat", "workspace_uuid", "chat_uuid"),)


class SuggestedActionsCache(Base):
    """`POST /v1/ai/suggestedActions/generate` answers, kept by the caller's `cacheKey`."""

    __tablename__ = "suggested_actions_cache"
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"), primary_key=True)
    cache_key: Mapped[str] = mapped_column(sa.String(500), primary_key=True)
    suggested_actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- hosted MCP servers (issue 15, item 5) ---
