"""The tables. Every row that belongs to a workspace carries `workspace_uuid`, and every query
filters on it (see store/)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ..crypto import EncryptedJSON, EncryptedText
from .sealed import SealedActions, SealedConfig
from .types import JSONType, UTCDateTime, utcnow

__all__ = ["ApiToken", "Base", "Chat", "McpConnection", "Message", "User", "Workspace"]

NOT_DELETED = sa.text("deleted_at IS NULL")
UNFINISHED = sa.text("status IN ('pending', 'generating')")


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


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


class McpConnection(Base):
    """An MCP client's credential, kept here (encrypted) instead of in the releases and messages
    that use it: those hold the `authentication` masked and this row's `key` (`credentialKey`).
    `credential` is the `authentication` as the client configured it; `access_token` ... `scope`
    the current OAuth token set, refreshed by cargohold. Keyed by workspace and a stable hash of the
    credential as configured (url, clientId, the original refresh token), so later turns with the
    same config use the refreshed tokens. `needs_reauth` is set on `invalid_grant`: only a new token
    set from the client clears it."""

    __tablename__ = "mcp_connections"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    key: Mapped[str] = mapped_column(sa.String(64))
    url: Mapped[str] = mapped_column(sa.Text)
    credential: Mapped[dict[str, Any] | None] = mapped_column(EncryptedJSON)
    access_token: Mapped[str | None] = mapped_column(EncryptedText)
    refresh_token: Mapped[str | None] = mapped_column(EncryptedText)
    token_type: Mapped[str | None] = mapped_column(sa.String(40))
    scope: Mapped[str | None] = mapped_column(sa.Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    needs_reauth: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (sa.UniqueConstraint("workspace_uuid", "key"),)


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


class Dataset(Base):
    """Where a workspace's data models live: its one `native` dataset (records stored here), or a
    `connector` dataset the operator attached (`cargohold dataset add`): an external SQL database
    that is only ever read. `url` is a secret: encrypted at rest, never returned or logged."""

    __tablename__ = "storage_datasets"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    slug: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))
    """native | connector"""
    url: Mapped[str | None] = mapped_column(EncryptedText)
    connector_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    """The database connector (`/v1/connection/connectors`) this dataset reads; None when the
    operator attached it with `cargohold dataset add` before connectors existed."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ux_storage_datasets_ws_slug",
            "workspace_uuid",
            "slug",
            unique=True,
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
    )


class StorageModel(Base):
    """A data model: a native table of records, or a connector's `table` / `sql` extractor."""

    __tablename__ = "storage_models"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    dataset_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("storage_datasets.uuid"))
    slug: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.String(16))
    extractor_slug: Mapped[str] = mapped_column(sa.String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    id_column_slug: Mapped[str] = mapped_column(sa.String(64))
    title_column_slug: Mapped[str] = mapped_column(sa.String(64))
    time_column_slug: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ux_storage_models_dataset_slug",
            "dataset_uuid",
            "slug",
            unique=True,
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
        sa.Index("ix_storage_models_ws_created", "workspace_uuid", "created_at"),
    )


class StorageRecord(Base):
    """A record of a native model: its values in `data` (checked against the model's columns),
    read as typed columns through `datasets/views.py`."""

    __tablename__ = "storage_records"
    model_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("storage_models.uuid"), primary_key=True)
    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.Uuid)
    title: Mapped[str | None] = mapped_column(sa.Text)
    emitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (
        sa.Index("ix_storage_records_model_emitted", "model_uuid", "emitted_at"),
        sa.Index("ix_storage_records_model_title", "model_uuid", "title"),
    )


# --- connectors (issue 10) -------------------------------------------------------------------------


DEFAULT_CONNECTOR = sa.text("is_default AND deleted_at IS NULL")


class Connector(Base):
    """Credentials a workspace brings (`/v1/connection/connectors`): a model provider's key and
    base URL, or a database. `config` is encrypted whole at rest and masked on every read."""

    __tablename__ = "connectors"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(64))
    integration_slug: Mapped[str] = mapped_column(sa.String(64))
    is_default: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    config: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    rate_limit: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cache_ttl_milliseconds: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ux_connectors_ws_slug",
            "workspace_uuid",
            "slug",
            unique=True,
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
        # One default per integration per workspace.
        sa.Index(
            "ux_connectors_ws_default",
            "workspace_uuid",
            "integration_slug",
            unique=True,
            sqlite_where=DEFAULT_CONNECTOR,
            postgresql_where=DEFAULT_CONNECTOR,
        ),
    )


# --- Files (issue 12): uploaded files, their folders and their indexing state ---
INDEX_WORK = sa.text("index_status IN ('pending', 'indexing') AND deleted_at IS NULL")


class FileFolder(Base):
    """A folder grouping a workspace's files (a `file` resource may name one)."""

    __tablename__ = "file_folders"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    name: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_file_folders_ws_created", "workspace_uuid", "created_at"),)


class StoredFile(Base):
    """An uploaded file. Its bytes are in the blob store under `blob_key` (generated, never the
    client's name); `version` grows each time its content is replaced, so an indexer that read an
    older version never marks the new one `ready`."""

    __tablename__ = "files"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    name: Mapped[str] = mapped_column(sa.String(255))
    kind: Mapped[str] = mapped_column(sa.String(16), default="native")
    """native | connector"""
    folder_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    library_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    is_temporary: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    chat_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    """The chat a temporary file (an attachment) belongs to."""
    content_type: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    blob_key: Mapped[str] = mapped_column(sa.String(300))
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    index_status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    """pending | indexing | ready | error"""
    index_error: Mapped[str | None] = mapped_column(sa.Text)
    index_model: Mapped[str | None] = mapped_column(sa.String(200))
    """The embedding model that made the file's chunks (another model: the file is reindexed)."""
    index_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the replica indexing it last renewed its claim (stale past `index_lease_seconds`)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_files_ws_folder", "workspace_uuid", "folder_uuid"),
        sa.Index("ix_files_ws_chat", "workspace_uuid", "chat_uuid"),
        sa.Index("ix_files_index_work", "index_status", sqlite_where=INDEX_WORK, postgresql_where=INDEX_WORK),
    )


# Knowledge (issue 12): the hybrid index of file chunks (knowledge/index.py). The keyword index lives
# beside the table: on SQLite the FTS5 table `knowledge_chunks_fts` (kept by triggers), on PostgreSQL
# the generated `text_search` tsvector column with a GIN index; both made by migration 0013.


class KnowledgeChunk(Base):
    """One chunk of a file's text with its embedding (float32 bytes) and the model that made it."""

    __tablename__ = "knowledge_chunks"
    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    file_uuid: Mapped[UUID] = mapped_column(sa.Uuid)
    seq: Mapped[int] = mapped_column(sa.Integer)
    """The chunk's place in its file, from 0."""
    location: Mapped[str | None] = mapped_column(sa.String(500))
    text: Mapped[str] = mapped_column(sa.Text)
    token_count: Mapped[int] = mapped_column(sa.Integer)
    embedding: Mapped[bytes] = mapped_column(sa.LargeBinary)
    model: Mapped[str] = mapped_column(sa.String(200))
    dimensions: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.Index("ix_knowledge_chunks_ws_file", "workspace_uuid", "file_uuid"),
        {"sqlite_autoincrement": True},  # ids never reused: the search cache keys vectors by id
    )


class KnowledgeIndexVersion(Base):
    """Bumped by every write to a workspace's chunks, in the same transaction: a process's in-memory
    vector cache compares it to know when to refresh."""

    __tablename__ = "knowledge_index_versions"
    workspace_uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)


# --- issue 14: capabilities (memories, documents, votes, suggested actions) ---


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


class McpServer(Base):
    """A hosted MCP server: a chosen set of the workspace's actions and resources, served as MCP
    tools at `/v1/ai/mcpServers/{uuid}/mcp` to callers holding a workspace API token."""

    __tablename__ = "mcp_servers"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(SealedActions, default=list)
    resources: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    folder_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    template_slug: Mapped[str | None] = mapped_column(sa.String(200))
    is_read_only: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ix_mcp_servers_ws_created",
            "workspace_uuid",
            "created_at",
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
    )


class McpServerCall(Base):
    """One tool call an outside MCP client made on a hosted server: what ran, how it ended, and the
    credits it used (an agent action's model usage). Its input is not kept (it may hold secrets)."""

    __tablename__ = "mcp_server_calls"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    mcp_server_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("mcp_servers.uuid"))
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    tool_name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16))
    """executed | failed"""
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    credits_used_count: Mapped[float] = mapped_column(sa.Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.Index("ix_mcp_server_calls_server_created", "mcp_server_uuid", "created_at"),)


# --- Durable turns on Temporal (jobs/temporal/) -------------------------------------------------


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
