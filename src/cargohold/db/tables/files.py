"""Files: folders, stored files and their knowledge index."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..types import UTCDateTime, utcnow
from .base import Base

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
