"""The `fileSearch` capability: a `file_search` tool over the chat's attachments and the
workspace's files (never another chat's attachments). Same search and answer as a `file`
resource (`runtime/resources/file.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_ai.toolsets import FunctionToolset
from sqlalchemy.ext.asyncio import AsyncSession

from ...db.tables import StoredFile
from ...store import files as store
from ..context import ToolSource, TurnContext
from ..resources.file import TOP_K, search_tool

__all__ = ["TOOL_NAME", "file_search"]

TOOL_NAME = "file_search"
DESCRIPTION = (
    "Search the files attached to this chat and the team's files by meaning or exact terms; returns "
    f"up to {TOP_K} passages, each with its file, location (page, sheet or heading) and a score."
)


async def file_search(config: dict[str, Any], ctx: TurnContext) -> ToolSource:
    async def files_of(session: AsyncSession) -> Sequence[StoredFile]:
        return [
            *await store.list_files(session, ctx.workspace_uuid),
            *await store.list_files(session, ctx.workspace_uuid, chat_uuid=ctx.chat_uuid),
        ]

    # Recorded in evaluatedTools by runtime/sources.py, as every capability tool is.
    return ToolSource(toolsets=[FunctionToolset([search_tool(TOOL_NAME, DESCRIPTION, files_of, ctx)])])
