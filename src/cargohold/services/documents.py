"""Document (Canvas) use cases: the routes (`/v1/ai/documents`) and the `document` capability's
store (`TurnDocuments`). Each write is a new version; versions are never changed, only dropped by
a reset to an earlier one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import SessionFactory
from ..db.tables import Document
from ..db.types import utcnow
from ..errors import DocumentNotFound
from ..runtime.capabilities.ports import DocumentVersion
from ..state import AppState
from ..store import documents as store
from ..store.workspaces import Principal

__all__ = ["TurnDocuments", "add_version", "list_versions", "read_document", "reset_document"]


def _version(row: Document) -> DocumentVersion:
    return DocumentVersion(row.uuid, row.created_at, row.title, row.kind, row.content)


def _next_time(latest: Document | None) -> datetime:
    """Now, or just after the latest version: versions of one document never share a time."""
    now = utcnow()
    if latest is not None and now <= latest.created_at:
        return latest.created_at + timedelta(microseconds=1)
    return now


async def _add(
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    latest: Document | None,
    document_uuid: uuid.UUID,
    *,
    title: str | None,
    kind: str,
    content: str,
    user_uuid: uuid.UUID | None,
    chat_uuid: uuid.UUID | None,
) -> Document:
    row = Document(
        uuid=document_uuid,
        created_at=_next_time(latest),
        workspace_uuid=workspace_uuid,
        user_uuid=user_uuid,
        chat_uuid=chat_uuid,
        title=title,
        kind=kind,
        content=content,
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(slots=True)
class TurnDocuments:
    """The `document` capability's store for one turn (its workspace, user and chat)."""

    sessions: SessionFactory
    workspace_uuid: uuid.UUID
    user_uuid: uuid.UUID | None
    chat_uuid: uuid.UUID

    async def create(self, title: str, kind: str, content: str) -> DocumentVersion:
        async with self.sessions() as session, session.begin():
            row = await _add(
                session,
                self.workspace_uuid,
                None,
                uuid.uuid4(),
                title=title,
                kind=kind,
                content=content,
                user_uuid=self.user_uuid,
                chat_uuid=self.chat_uuid,
            )
            return _version(row)

    async def update(self, document_uuid: uuid.UUID, content: str) -> DocumentVersion | None:
        async with self.sessions() as session, session.begin():
            latest = await store.latest_version(session, self.workspace_uuid, document_uuid)
            if latest is None:
                return None
            row = await _add(
                session,
                self.workspace_uuid,
                latest,
                document_uuid,
                title=latest.title,
                kind=latest.kind,
                content=content,
                user_uuid=self.user_uuid,
                chat_uuid=self.chat_uuid,
            )
            return _version(row)


async def add_version(
    state: AppState, who: Principal, document_uuid: uuid.UUID | None, *, title: str | None, kind: str, content: str
) -> Document:
    """A new version of the caller's document (a new document when the uuid is new or not given)."""
    async with state.sessions() as session, session.begin():
        latest = None
        if document_uuid is None:
            document_uuid = uuid.uuid4()
        else:
            latest = await store.latest_version(session, who.workspace_uuid, document_uuid)
            if latest is None and await store.document_taken(session, document_uuid):
                raise DocumentNotFound()  # another workspace's: not this caller's to write
        return await _add(
            session,
            who.workspace_uuid,
            latest,
            document_uuid,
            title=title,
            kind=kind,
            content=content,
            user_uuid=who.user_uuid,
            chat_uuid=latest.chat_uuid if latest is not None else None,
        )


async def read_document(state: AppState, who: Principal, document_uuid: uuid.UUID) -> Document:
    async with state.reads() as session:
        latest = await store.latest_version(session, who.workspace_uuid, document_uuid)
    if latest is None:
        raise DocumentNotFound()
    return latest


async def list_versions(
    state: AppState, who: Principal, document_uuid: uuid.UUID, *, limit: int, offset: int
) -> list[Document]:
    async with state.reads() as session:
        if await store.latest_version(session, who.workspace_uuid, document_uuid) is None:
            raise DocumentNotFound()
        return await store.list_versions(session, who.workspace_uuid, document_uuid, limit=limit, offset=offset)


async def reset_document(state: AppState, who: Principal, document_uuid: uuid.UUID, created_at: datetime) -> Document:
    """Drop the versions after `created_at`: the version of that time is the document again."""
    async with state.sessions() as session, session.begin():
        version = await store.version_at(session, who.workspace_uuid, document_uuid, created_at)
        if version is None:
            raise DocumentNotFound(f"Document {document_uuid} has no version created at {created_at.isoformat()}")
        await store.drop_versions_after(session, who.workspace_uuid, document_uuid, created_at)
        return version
