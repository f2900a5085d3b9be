"""Hosted MCP server wire models (cargo-ai-api §1.6). `actions` is also accepted and returned as
`tools` (the older name)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from .actions import WithActions
from .common import UUID4, CamelModel
from .safe import FreeJsonObjects
from .secrets import MaskedActions

__all__ = [
    "McpServer",
    "McpServerCall",
    "McpServerCallsEnvelope",
    "McpServerCreate",
    "McpServerEnvelope",
    "McpServerUpdate",
    "McpServersEnvelope",
]


class McpServerCreate(WithActions):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    resources: FreeJsonObjects | None = None
    folder_uuid: UUID4 | None = None


class McpServerUpdate(WithActions):
    """An omitted field keeps its value."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    resources: FreeJsonObjects | None = None
    folder_uuid: UUID4 | None = None


class McpServer(CamelModel):
    uuid: UUID
    workspace_uuid: UUID
    user_uuid: UUID | None
    name: str
    description: str | None
    actions: MaskedActions = Field(description="Secrets pinned in `config` never show in clear.")
    tools: MaskedActions = Field(description="Same as `actions` (older name).")
    resources: list[dict[str, Any]]
    folder_uuid: UUID | None
    template_slug: str | None
    is_read_only: bool
    url: str = Field(description="The server's MCP endpoint (streamable HTTP), relative to this host.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class McpServerEnvelope(CamelModel):
    mcp_server: McpServer


class McpServersEnvelope(CamelModel):
    mcp_servers: list[McpServer]


class McpServerCall(CamelModel):
    """A tool call an MCP client made on the server (a cargohold extension)."""

    uuid: UUID
    mcp_server_uuid: UUID
    user_uuid: UUID | None
    tool_name: str
    status: Literal["executed", "failed"]
    error_message: str | None
    usage: dict[str, Any] | None
    credits_used_count: float
    created_at: datetime
    finished_at: datetime | None


class McpServerCallsEnvelope(CamelModel):
    calls: list[McpServerCall]
