"""Documents (`/v1/ai/documents`, cargo-ai-api §1.8): versioned Canvas documents."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from .common import UUID4, CamelModel, RequestModel

__all__ = ["Document", "DocumentCreate", "DocumentEnvelope", "DocumentReset", "DocumentsEnvelope"]

DocumentKind = Literal["text", "code", "image", "sheet"]


class Document(CamelModel):
    """One version: `(uuid, createdAt)`."""

    uuid: UUID
    workspace_uuid: UUID
    user_uuid: UUID | None
    title: str | None
    content: str
    kind: DocumentKind
    created_at: datetime
    deleted_at: datetime | None = None


class DocumentEnvelope(CamelModel):
    document: Document


class DocumentsEnvelope(CamelModel):
    documents: list[Document]


class DocumentCreate(RequestModel):
    uuid: UUID4 | None = Field(default=None, description="A document's uuid adds a version to it; none: a new one.")
    kind: DocumentKind
    title: str | None = Field(default=None, max_length=500)
    content: str = Field(max_length=1_000_000)


class DocumentReset(RequestModel):
    uuid: UUID4
    created_at: datetime = Field(description="The version to go back to: later versions are dropped.")
