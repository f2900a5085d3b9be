"""/v1/ai/documents: HTTP only; the work is in services/documents.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.documents import Document, DocumentCreate, DocumentEnvelope, DocumentReset, DocumentsEnvelope
from ..services import documents as service
from .deps import Caller, Offset, State

__all__ = ["router"]

router = APIRouter(prefix="/v1/ai/documents", tags=["AI - Documents"], responses=ERROR_RESPONSES)


@router.post("", summary="Write a document: a new version (of the document `uuid` names, or of a new one)")
async def create_document(state: State, who: Caller, body: DocumentCreate) -> DocumentEnvelope:
    row = await service.add_version(state, who, body.uuid, title=body.title, kind=body.kind, content=body.content)
    return DocumentEnvelope(document=Document.model_validate(row))


@router.get("/list", summary="A document's versions, oldest first")
async def list_documents(
    state: State,
    who: Caller,
    uuid: Annotated[UUID4, Query()],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> DocumentsEnvelope:
    rows = await service.list_versions(state, who, uuid, limit=limit, offset=offset)
    return DocumentsEnvelope(documents=[Document.model_validate(row) for row in rows])


@router.post("/reset", summary="Go back to a version: the versions after it are dropped")
async def reset_document(state: State, who: Caller, body: DocumentReset) -> DocumentEnvelope:
    row = await service.reset_document(state, who, body.uuid, body.created_at)
    return DocumentEnvelope(document=Document.model_validate(row))


@router.get("/{uuid}", summary="A document (its latest version)")
async def get_document(state: State, who: Caller, uuid: UUID4) -> DocumentEnvelope:
    return DocumentEnvelope(document=Document.model_validate(await service.read_document(state, who, uuid)))
