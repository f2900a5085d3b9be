"""/v1/content/files and /v1/content/folders (cargo-storage-api.md "Content"); the older
`/v1/ai/files/...` paths (cargo-ai-api.md §1.5) answer the same. HTTP only: the work is in
files/service.py.

An upload is multipart/form-data (`file`, one or more; `folderUuid?`; `uuid?` to replace that
file's content). Its body has its own size limit (`CARGOHOLD_MAX_UPLOAD_BYTES`, counted as it
streams in by `api/body.BodyLimit`); the parts are spooled to disk by Starlette, never held whole.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from ..errors import BadRequest, NoFile
from ..files import service
from ..schemas.common import ERROR_RESPONSES, UUID4, check_uuid4
from ..schemas.files import (
    File,
    FileEnvelope,
    FilesEnvelope,
    FileUpdate,
    Folder,
    FolderCreate,
    FolderEnvelope,
    FoldersEnvelope,
    FolderUpdate,
)
from .deps import Caller, State

__all__ = ["UPLOAD_PATHS", "router"]

FILES = "/v1/content/files"
OLD_FILES = "/v1/ai/files"
FOLDERS = "/v1/content/folders"
UPLOAD_PATHS = frozenset({f"{FILES}/upload", f"{OLD_FILES}/upload"})
MAX_FILES_PER_UPLOAD = 20

router = APIRouter(tags=["Files"], responses=ERROR_RESPONSES)


def _file(row: Any) -> File:
    return File.model_validate(service.file_out(row))


def _form_uuid(value: Any, field: str) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest(f"`{field}` must be a UUID v4")
    try:
        return check_uuid4(uuid.UUID(value))
    except ValueError:
        raise BadRequest(f"`{field}` must be a UUID v4") from None


async def upload_files(request: Request, state: State, who: Caller) -> FilesEnvelope:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise NoFile()
    async with request.form(max_files=MAX_FILES_PER_UPLOAD, max_fields=16) as form:
        unknown = sorted(set(form.keys()) - {"file", "folderUuid", "uuid"})
        if unknown:
            raise BadRequest(f"`{unknown[0]}`: unknown field (an upload takes `file`, `folderUuid` and `uuid`)")
        uploads = [f for f in form.getlist("file") if isinstance(f, UploadFile)]
        if not uploads:
            raise NoFile()
        folder_uuid = _form_uuid(form.get("folderUuid"), "folderUuid")
        replace_uuid = _form_uuid(form.get("uuid"), "uuid")
        if replace_uuid is not None and len(uploads) > 1:
            raise BadRequest("`uuid` replaces one file's content: send exactly one `file` with it")
        stored = []
        for upload in uploads:
            given = service.Upload(upload.file, upload.filename, upload.size or 0)
            stored.append(
                await service.store_upload(state, who, given, folder_uuid=folder_uuid, replace_uuid=replace_uuid)
            )
    return FilesEnvelope(files=[_file(row) for row in stored])


async def list_files(
    state: State,
    who: Caller,
    folder_uuid: Annotated[UUID4 | None, Query(alias="folderUuid")] = None,
    library_uuid: Annotated[UUID4 | None, Query(alias="libraryUuid")] = None,
    kind: Literal["native", "connector"] | None = None,
) -> FilesEnvelope:
    rows = await service.list_files(state, who, folder_uuid=folder_uuid, library_uuid=library_uuid, kind=kind)
    return FilesEnvelope(files=[_file(row) for row in rows])


async def get_file(state: State, who: Caller, uuid: UUID4) -> FileEnvelope:
    return FileEnvelope(file=_file(await service.read_file(state, who, uuid)))


async def update_file(state: State, who: Caller, uuid: UUID4, body: FileUpdate) -> FileEnvelope:
    return FileEnvelope(file=_file(await service.update_file(state, who, uuid, body)))


async def delete_file(state: State, who: Caller, uuid: UUID4) -> dict[str, Any]:
    await service.delete_file(state, who, uuid)
    return {}


async def raw_file(state: State, who: Caller, uuid: UUID4) -> StreamingResponse:
    row, chunks = await service.open_raw(state, who, uuid)
    headers = {
        "content-length": str(row.size),
        "content-disposition": f"attachment; filename*=UTF-8''{quote(row.name, safe='')}",
        # Bytes a user uploaded, served from the API's origin: never rendered or sniffed as a page.
        "x-content-type-options": "nosniff",
        "content-security-policy": "sandbox",
    }
    return StreamingResponse(chunks, media_type=row.content_type, headers=headers)


for prefix, old in ((FILES, False), (OLD_FILES, True)):
    router.add_api_route(
        f"{prefix}/upload",
        upload_files,
        methods=["POST"],
        summary="Upload files (multipart: `file`, `folderUuid?`, `uuid?` to replace that file's content)",
        deprecated=old,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "folderUuid": {"type": "string", "format": "uuid"},
                                "uuid": {"type": "string", "format": "uuid"},
                            },
                            "required": ["file"],
                        }
                    }
                },
            }
        },
    )
    router.add_api_route(f"{prefix}/list", list_files, methods=["GET"], summary="List files", deprecated=old)
    router.add_api_route(f"{prefix}/{{uuid}}", get_file, methods=["GET"], summary="Get a file", deprecated=old)
    router.add_api_route(
        f"{prefix}/{{uuid}}", update_file, methods=["PUT"], summary="Rename or move a file", deprecated=old
    )
    router.add_api_route(f"{prefix}/{{uuid}}", delete_file, methods=["DELETE"], summary="Delete a file", deprecated=old)
    router.add_api_route(
        f"{prefix}/{{uuid}}/raw",
        raw_file,
        methods=["GET"],
        summary="Download a file's bytes",
        deprecated=old,
        response_class=StreamingResponse,
        responses={200: {"content": {"application/octet-stream": {}}}},
    )


@router.post(FOLDERS, summary="Create a folder of files")
async def create_folder(state: State, who: Caller, body: FolderCreate) -> FolderEnvelope:
    return FolderEnvelope(folder=Folder.model_validate(await service.create_folder(state, who, body.name)))


@router.get(f"{FOLDERS}/list", summary="List folders of files")
async def list_folders(state: State, who: Caller) -> FoldersEnvelope:
    return FoldersEnvelope(folders=[Folder.model_validate(f) for f in await service.list_folders(state, who)])


@router.get(f"{FOLDERS}/{{uuid}}", summary="Get a folder")
async def get_folder(state: State, who: Caller, uuid: UUID4) -> FolderEnvelope:
    return FolderEnvelope(folder=Folder.model_validate(await service.read_folder(state, who, uuid)))


@router.put(f"{FOLDERS}/{{uuid}}", summary="Rename a folder")
async def update_folder(state: State, who: Caller, uuid: UUID4, body: FolderUpdate) -> FolderEnvelope:
    return FolderEnvelope(folder=Folder.model_validate(await service.update_folder(state, who, uuid, body.name)))


@router.delete(f"{FOLDERS}/{{uuid}}", summary="Delete an empty folder")
async def delete_folder(state: State, who: Caller, uuid: UUID4) -> dict[str, Any]:
    await service.delete_folder(state, who, uuid)
    return {}
