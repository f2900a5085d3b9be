"""The use cases of the content routes: upload, list, read, rename/move, delete and download files;
create, list, rename and delete folders. One request is one transaction, checked before the first
write. A file's bytes go to the blob store before its row is committed (a failed commit removes
them); replaced or deleted bytes are removed after the commit. Replacing or deleting a file removes
its chunks in the same transaction, so a search never returns the old text."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import IO, Any

from ..db.tables import FileFolder, StoredFile
from ..db.types import utcnow
from ..errors import FileNotFound, FolderNotEmpty, FolderNotFound, UploadTooLarge
from ..knowledge.extract import sniff_media_type
from ..knowledge.index import delete_file_chunks
from ..schemas.files import FileUpdate
from ..state import AppState
from ..store import files as store
from ..store.workspaces import Principal
from .blobs import new_key
from .names import clean_name

__all__ = [
    "Upload",
    "create_folder",
    "delete_file",
    "delete_folder",
    "file_out",
    "list_files",
    "list_folders",
    "open_raw",
    "read_file",
    "read_folder",
    "store_upload",
    "update_file",
    "update_folder",
]

log = logging.getLogger(__name__)


class Upload:
    """One uploaded file as the route received it: a spooled file, its client name and size."""

    def __init__(self, source: IO[bytes], filename: str | None, size: int) -> None:
        self.source = source
        self.filename = filename
        self.size = size


def file_out(row: StoredFile) -> dict[str, Any]:
    return {
        "uuid": row.uuid,
        "workspaceUuid": row.workspace_uuid,
        "userUuid": row.user_uuid,
        "name": row.name,
        "isTemporary": row.is_temporary,
        "chatUuid": row.chat_uuid,
        "folderUuid": row.folder_uuid,
        "libraryUuid": row.library_uuid,
        "kind": row.kind,
        "contentType": row.content_type,
        "size": row.size,
        "s3Filename": row.blob_key,
        "indexStatus": row.index_status,
        "indexError": row.index_error,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "deletedAt": row.deleted_at,
    }


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"The file is larger than {limit} bytes (CARGOHOLD_MAX_UPLOAD_BYTES)")


def _digest(source: IO[bytes]) -> tuple[bytes, str]:
    source.seek(0)
    data = source.read()
    source.seek(0)
    return data, hashlib.sha256(data).hexdigest()


async def store_upload(
    state: AppState,
    who: Principal,
    upload: Upload,
    *,
    folder_uuid: uuid.UUID | None = None,
    replace_uuid: uuid.UUID | None = None,
    chat_uuid: uuid.UUID | None = None,
) -> StoredFile:
    """Store a new file (or new content for `replace_uuid`) and queue it for indexing."""
    limit = state.settings.max_upload_bytes
    if upload.size > limit:
        raise _too_large(limit)
    name = clean_name(upload.filename)
    data, sha = await asyncio.to_thread(_digest, upload.source)
    if len(data) > limit:
        raise _too_large(limit)
    media_type = sniff_media_type(data, name)
    async with state.reads() as session:
        await _check_targets(session, who, folder_uuid, replace_uuid)
    file_uuid = replace_uuid or uuid.uuid4()
    key = new_key(who.workspace_uuid, file_uuid)
    await state.blobs.put(key, upload.source)
    old_key: str | None = None
    try:
        async with state.sessions() as session, session.begin():
            await _check_targets(session, who, folder_uuid, replace_uuid)
            now = utcnow()
            if replace_uuid is None:
                row = StoredFile(
                    uuid=file_uuid,
                    workspace_uuid=who.workspace_uuid,
                    user_uuid=who.user_uuid,
                    name=name,
                    kind="native",
                    folder_uuid=folder_uuid,
                    is_temporary=chat_uuid is not None,
                    chat_uuid=chat_uuid,
                    content_type=media_type,
                    size=len(data),
                    sha256=sha,
                    blob_key=key,
                    version=1,
                    index_status="pending",
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
            else:
                found = await store.get_file(session, who.workspace_uuid, replace_uuid, for_update=True)
                if found is None:
                    raise FileNotFound()
                row, old_key = found, found.blob_key
                await delete_file_chunks(session, who.workspace_uuid, row.uuid)
                row.name, row.content_type, row.size, row.sha256, row.blob_key = name, media_type, len(data), sha, key
                row.version += 1
                row.index_status, row.index_error, row.index_model, row.index_claimed_at = "pending", None, None, None
                if folder_uuid is not None:
                    row.folder_uuid = folder_uuid
                row.updated_at = now
            await session.flush()
    except BaseException:
        await _forget_blob(state, key)
        raise
    if old_key is not None:
        await _forget_blob(state, old_key)
    state.wake_indexer()
    return row


async def _check_targets(
    session: Any, who: Principal, folder_uuid: uuid.UUID | None, replace_uuid: uuid.UUID | None
) -> None:
    if folder_uuid is not None and await store.get_folder(session, who.workspace_uuid, folder_uuid) is None:
        raise FolderNotFound()
    if replace_uuid is not None and await store.get_file(session, who.workspace_uuid, replace_uuid) is None:
        raise FileNotFound()


async def _forget_blob(state: AppState, key: str) -> None:
    """Remove bytes no row points at any more; a failure leaves an orphan blob, never a broken file."""
    try:
        await asyncio.shield(state.blobs.delete(key))
    except Exception:
        log.warning("could not remove a blob no file uses any more", exc_info=True)


async def list_files(
    state: AppState,
    who: Principal,
    *,
    folder_uuid: uuid.UUID | None = None,
    library_uuid: uuid.UUID | None = None,
    kind: str | None = None,
) -> Sequence[StoredFile]:
    async with state.reads() as session:
        if folder_uuid is not None and await store.get_folder(session, who.workspace_uuid, folder_uuid) is None:
            raise FolderNotFound()
        return await store.list_files(
            session, who.workspace_uuid, folder_uuid=folder_uuid, library_uuid=library_uuid, kind=kind
        )


async def read_file(state: AppState, who: Principal, file_uuid: uuid.UUID) -> StoredFile:
    async with state.reads() as session:
        found = await store.get_file(session, who.workspace_uuid, file_uuid)
    if found is None:
        raise FileNotFound()
    return found


async def update_file(state: AppState, who: Principal, file_uuid: uuid.UUID, body: FileUpdate) -> StoredFile:
    given = body.model_fields_set
    async with state.sessions() as session, session.begin():
        found = await store.get_file(session, who.workspace_uuid, file_uuid, for_update=True)
        if found is None:
            raise FileNotFound()
        if "folder_uuid" in given:
            target = body.folder_uuid
            if target is not None and await store.get_folder(session, who.workspace_uuid, target) is None:
                raise FolderNotFound()
            found.folder_uuid = body.folder_uuid
        if body.name is not None:
            found.name = clean_name(body.name)
        found.updated_at = utcnow()
        await session.flush()
        return found


async def delete_file(state: AppState, who: Principal, file_uuid: uuid.UUID) -> None:
    async with state.sessions() as session, session.begin():
        found = await store.get_file(session, who.workspace_uuid, file_uuid, for_update=True)
        if found is None:
            raise FileNotFound()
        await delete_file_chunks(session, who.workspace_uuid, found.uuid)
        found.deleted_at = found.updated_at = utcnow()
        key = found.blob_key
        await session.flush()
    await _forget_blob(state, key)


async def open_raw(state: AppState, who: Principal, file_uuid: uuid.UUID) -> tuple[StoredFile, AsyncIterator[bytes]]:
    found = await read_file(state, who, file_uuid)
    return found, state.blobs.stream(found.blob_key)


async def create_folder(state: AppState, who: Principal, name: str) -> FileFolder:
    async with state.sessions() as session, session.begin():
        now = utcnow()
        folder = FileFolder(
            uuid=uuid.uuid4(), workspace_uuid=who.workspace_uuid, name=clean_name(name), created_at=now, updated_at=now
        )
        session.add(folder)
        await session.flush()
        return folder


async def list_folders(state: AppState, who: Principal) -> Sequence[FileFolder]:
    async with state.reads() as session:
        return await store.list_folders(session, who.workspace_uuid)


async def read_folder(state: AppState, who: Principal, folder_uuid: uuid.UUID) -> FileFolder:
    async with state.reads() as session:
        found = await store.get_folder(session, who.workspace_uuid, folder_uuid)
    if found is None:
        raise FolderNotFound()
    return found


async def update_folder(state: AppState, who: Principal, folder_uuid: uuid.UUID, name: str) -> FileFolder:
    async with state.sessions() as session, session.begin():
        found = await store.get_folder(session, who.workspace_uuid, folder_uuid)
        if found is None:
            raise FolderNotFound()
        found.name = clean_name(name)
        found.updated_at = utcnow()
        await session.flush()
        return found


async def delete_folder(state: AppState, who: Principal, folder_uuid: uuid.UUID) -> None:
    """A folder that still holds files is refused (409): its files are never deleted by accident."""
    async with state.sessions() as session, session.begin():
        found = await store.get_folder(session, who.workspace_uuid, folder_uuid)
        if found is None:
            raise FolderNotFound()
        if await store.list_files(session, who.workspace_uuid, folder_uuid=folder_uuid):
            raise FolderNotEmpty()
        found.deleted_at = found.updated_at = utcnow()
        await session.flush()
