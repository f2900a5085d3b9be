"""The check of a `file` resource before a release or a turn stores it (services/config.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from ..schemas.resources import FileResourceItem
from ..store import files as store

__all__ = ["file_resource_problem"]


async def file_resource_problem(
    session: AsyncSession, workspace_uuid: uuid.UUID, items: Sequence[FileResourceItem]
) -> str | None:
    """Why the resource cannot be used in this workspace (a sentence), or None. A folder is checked
    to exist; its files are read when the tool is called."""
    for item in items:
        file_uuid = getattr(item, "file_uuid", None)
        if file_uuid is not None and await store.get_file(session, workspace_uuid, file_uuid) is None:
            return f"file {file_uuid} not found in this workspace"
        folder_uuid = getattr(item, "folder_uuid", None)
        if folder_uuid is not None and await store.get_folder(session, workspace_uuid, folder_uuid) is None:
            return f"folder {folder_uuid} not found in this workspace"
    return None
