"""Document versions: every query scoped to a workspace; `(uuid, created_at)` is a version."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Document

__all__ = ["document_taken", "drop_versions_after", "latest_version", "list_versions", "version_at"]


async def latest_version(session: AsyncSession, workspace_uuid: uuid.UUID, document_uuid: uuid.UUID) -> Document | None:
    query = (
        sa.select(Document)
        .where(Document.workspace_uuid == workspace_uuid, Document.uuid == document_uuid)
        .order_by(Document.created_at.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def document_taken(session: AsyncSession, document_uuid: uuid.UUID) -> bool:
    """True when any workspace has a document with this uuid (a uuid is a global key)."""
    query = sa.select(Document.uuid).where(Document.uuid == document_uuid).limit(1)
    return (await session.execute(query)).first() is not None


async def list_versions(
    session: AsyncSession, workspace_uuid: uuid.UUID, document_uuid: uuid.UUID, *, limit: int, offset: int
) -> list[Document]:
    """Versions oldest first (as ai-chatbot's version history reads them)."""
    query = (
        sa.select(Document)
        .where(Document.workspace_uuid == workspace_uuid, Document.uuid == document_uuid)
        .order_by(Document.created_at)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.execute(query)).scalars())


async def version_at(
    session: AsyncSession, workspace_uuid: uuid.UUID, document_uuid: uuid.UUID, created_at: datetime
) -> Document | None:
    query = sa.select(Document).where(
        Document.workspace_uuid == workspace_uuid, Document.uuid == document_uuid, Document.created_at == created_at
    )
    return (await session.execute(query)).scalar_one_or_none()


async def drop_versions_after(
    session: AsyncSession, workspace_uuid: uuid.UUID, document_uuid: uuid.UUID, created_at: datetime
) -> None:
    await session.execute(
        sa.delete(Document).where(
            Document.workspace_uuid == workspace_uuid,
            Document.uuid == document_uuid,
            Document.created_at > created_at,
        )
    )
