"""Files and folders on the wire (cargo-storage-api.md "Content", cargo-ai-api.md §1.5)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from .common import UUID4, CamelModel, RequestModel

__all__ = [
    "File",
    "FileEnvelope",
    "FileUpdate",
    "FilesEnvelope",
    "Folder",
    "FolderCreate",
    "FolderEnvelope",
    "FolderUpdate",
    "FoldersEnvelope",
    "IndexStatus",
]

IndexStatus = Literal["pending", "indexing", "ready", "error"]


class File(CamelModel):
    uuid: UUID4
    workspace_uuid: UUID4
    user_uuid: UUID4 | None
    name: str = Field(description="The file's name (sanitised: no path, no control characters).")
    is_temporary: bool = Field(description="An attachment of one chat, not a file of the workspace's library.")
    chat_uuid: UUID4 | None = Field(default=None, description="The chat a temporary file was attached in.")
    folder_uuid: UUID4 | None
    library_uuid: UUID4 | None
    kind: Literal["native", "connector"]
    content_type: str = Field(description="The media type sniffed from the bytes, not the one the client sent.")
    size: int = Field(description="Bytes.")
    s3_filename: str = Field(description="The server-generated key of the file's bytes in the blob store.")
    open_ai_file_id: None = None
    index_status: IndexStatus = Field(
        description="`pending` -> `indexing` -> `ready` (searchable) or `error` (see `indexError`)."
    )
    index_error: str | None = Field(default=None, description="Why the file could not be indexed.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class FileEnvelope(CamelModel):
    file: File


class FilesEnvelope(CamelModel):
    files: list[File]


class FileUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    folder_uuid: UUID4 | None = Field(default=None, description="Move the file to this folder; `null`: out of any.")


class Folder(CamelModel):
    uuid: UUID4
    workspace_uuid: UUID4
    name: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class FolderEnvelope(CamelModel):
    folder: Folder


class FoldersEnvelope(CamelModel):
    folders: list[Folder]


class FolderCreate(RequestModel):
    name: str = Field(min_length=1, max_length=255)


class FolderUpdate(RequestModel):
    name: str = Field(min_length=1, max_length=255)
