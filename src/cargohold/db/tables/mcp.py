"""MCP: the clients a workspace connects to (with their OAuth tokens) and the servers it hosts."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ...crypto import EncryptedJSON, EncryptedText
from ..sealed import SealedActions
from ..types import JSONType, UTCDateTime, utcnow
from .base import NOT_DELETED, Base


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
