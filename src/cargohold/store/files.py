"""File and folder queries, each scoped to a workspace; soft-deleted rows are invisible.

The indexer's claim functions (`claim_file`, `renew_claims`, ...) work by file uuid on behalf of
the file's workspace, as the run/lease functions do for messages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import FileFolder, StoredFile
from ..db.types import utcnow

__all__ = [
    "claim_file",
    "files_in",
    "get_file",
    "get_folder",
    "index_candidates",
    "list_files",
    "list_folders",
    "mark_stale_model",
    "renew_claims",
]


async def get_file(
    session: AsyncSession, workspace_uuid: uuid.UUID, file_uuid: uuid.UUID, *, for_update: bool = False
) -> StoredFile | None:
    query = sa.select(StoredFile).where(
        StoredFile.uuid == file_uuid, StoredFile.workspace_uuid == workspace_uuid, StoredFile.deleted_at.is_(None)
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_files(
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    *,
    folder_uuid: uuid.UUID | None = None,
    library_uuid: uuid.UUID | None = None,
    kind: str | None = None,
    chat_uuid: uuid.UUID | None = None,
) -> Sequence[StoredFile]:
    """The workspace's files (temporary ones only when `chat_uuid` names their chat), newest first."""
    query = sa.select(StoredFile).where(StoredFile.workspace_uuid == workspace_uuid, StoredFile.deleted_at.is_(None))
    if chat_uuid is not None:
        query = query.where(StoredFile.chat_uuid == chat_uuid)
    else:
        query = query.where(StoredFile.is_temporary.is_(False))
    if folder_uuid is not None:
        query = query.where(StoredFile.folder_uuid == folder_uuid)
    if library_uuid is not None:
        query = query.where(StoredFile.library_uuid == library_uuid)
    if kind is not None:
        query = query.where(StoredFile.kind == kind)
    query = query.order_by(StoredFile.created_at.desc(), StoredFile.uuid)
    return (await session.execute(query)).scalars().all()


async def files_in(
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    file_uuids: Sequence[uuid.UUID],
    folder_uuids: Sequence[uuid.UUID],
    chat_uuid: uuid.UUID | None = None,
) -> Sequence[StoredFile]:
    """The live files among `file_uuids`, in `folder_uuids` (as they are now) or attached to the chat."""
    wanted: list[sa.ColumnElement[bool]] = []
    if file_uuids:
        wanted.append(StoredFile.uuid.in_(list(file_uuids)))
    if folder_uuids:
        wanted.append(StoredFile.folder_uuid.in_(list(folder_uuids)))
    if chat_uuid is not None:
        wanted.append(StoredFile.chat_uuid == chat_uuid)
    if not wanted:
        return []
    query = sa.select(StoredFile).where(
        StoredFile.workspace_uuid == workspace_uuid, StoredFile.deleted_at.is_(None), sa.or_(*wanted)
    )
    return (await session.execute(query)).scalars().all()


async def get_folder(session: AsyncSession, workspace_uuid: uuid.UUID, folder_uuid: uuid.UUID) -> FileFolder | None:
    query = sa.select(FileFolder).where(
        FileFolder.uuid == folder_uuid, FileFolder.workspace_uuid == workspace_uuid, FileFolder.deleted_at.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_folders(session: AsyncSession, workspace_uuid: uuid.UUID) -> Sequence[FileFolder]:
    query = (
        sa.select(FileFolder)
        .where(FileFolder.workspace_uuid == workspace_uuid, FileFolder.deleted_at.is_(None))
        .order_by(FileFolder.created_at, FileFolder.uuid)
    )
    return (await session.execute(query)).scalars().all()


# --- the indexer's queries (any workspace: work is found by status, then done per file) ---


def _claimable(stale_before: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        StoredFile.deleted_at.is_(None),
        sa.or_(
            StoredFile.index_status == "pending",
            sa.and_(StoredFile.index_status == "indexing", StoredFile.index_claimed_at < stale_before),
        ),
    )


async def index_candidates(session: AsyncSession, lease_seconds: float, limit: int) -> list[tuple[uuid.UUID, int]]:
    """Files waiting to be indexed, oldest first: `pending` ones, and `indexing` ones whose claim
    went stale (the replica indexing them died)."""
    stale_before = utcnow() - timedelta(seconds=lease_seconds)
    query = (
        sa.select(StoredFile.uuid, StoredFile.version)
        .where(_claimable(stale_before))
        .order_by(StoredFile.updated_at, StoredFile.uuid)
        .limit(limit)
    )
    return [(row.uuid, row.version) for row in (await session.execute(query)).all()]


async def claim_file(session: AsyncSession, file_uuid: uuid.UUID, version: int, lease_seconds: float) -> bool:
    """Take the file for indexing: one conditional UPDATE, so of several replicas only one wins."""
    now = utcnow()
    result = await session.execute(
        sa.update(StoredFile)
        .where(
            StoredFile.uuid == file_uuid,
            StoredFile.version == version,
            _claimable(now - timedelta(seconds=lease_seconds)),
        )
        .values(index_status="indexing", index_claimed_at=now, index_error=None)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def renew_claims(session: AsyncSession, claims: Sequence[tuple[uuid.UUID, int]]) -> None:
    for file_uuid, version in claims:
        await session.execute(
            sa.update(StoredFile)
            .where(StoredFile.uuid == file_uuid, StoredFile.version == version, StoredFile.index_status == "indexing")
            .values(index_claimed_at=utcnow())
            .execution_options(synchronize_session=False)
        )


async def mark_stale_model(session: AsyncSession, model_name: str) -> int:
    """Files indexed by another embedding model go back to `pending` (their chunks are replaced
    when they are indexed again)."""
    result = await session.execute(
        sa.update(StoredFile)
        .where(
            StoredFile.deleted_at.is_(None),
            StoredFile.index_status.in_(["ready", "error"]),
            StoredFile.index_model.is_not(None),
            StoredFile.index_model != model_name,
        )
        .values(index_status="pending", index_error=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))
