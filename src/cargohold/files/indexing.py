"""Indexing one file: its bytes from the blob store, extracted to sections (page, sheet or
heading kept), cut into chunks counted with the embedding model's tokenizer, embedded, and its
chunks replaced in the same transaction that marks it `ready`, only if the file is still the
version that was read (a file replaced or deleted meanwhile keeps its new state).

A file that cannot be read ends `error` with a sentence saying why (`indexError`)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import SessionFactory
from ..db.tables import StoredFile
from ..knowledge.chunking import chunk_sections
from ..knowledge.embeddings import Embedder
from ..knowledge.extract import ExtractionError, ZipLimits, extract
from ..knowledge.index import delete_file_chunks, replace_file_chunks
from ..settings import Settings
from .blobs import BlobStore

__all__ = ["Claim", "index_file"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Claim:
    file_uuid: uuid.UUID
    version: int


async def _current(session: AsyncSession, claim: Claim) -> StoredFile | None:
    """The file, if it is still the claimed version being indexed (locked for the final write)."""
    query = (
        sa.select(StoredFile)
        .where(
            StoredFile.uuid == claim.file_uuid,
            StoredFile.version == claim.version,
            StoredFile.index_status == "indexing",
            StoredFile.deleted_at.is_(None),
        )
        .with_for_update()
    )
    return (await session.execute(query)).scalar_one_or_none()


async def index_file(
    sessions: SessionFactory, blobs: BlobStore, embedder: Embedder, settings: Settings, claim: Claim
) -> str:
    """Index a claimed file; returns its final status (`ready`, `error`, or `skipped` when it was
    replaced or deleted while being read)."""
    async with sessions() as session:
        row = (await session.execute(sa.select(StoredFile).where(StoredFile.uuid == claim.file_uuid))).scalar_one()
        workspace_uuid, key, name, media_type = row.workspace_uuid, row.blob_key, row.name, row.content_type
    try:
        data = await blobs.read(key)
        limits = ZipLimits(
            max_uncompressed_bytes=settings.knowledge_max_uncompressed_bytes,
            max_entries=settings.knowledge_max_zip_entries,
        )
        sections = await asyncio.to_thread(extract, data, media_type, name, limits=limits)
        chunks = await asyncio.to_thread(
            chunk_sections,
            sections,
            embedder.count_tokens,
            settings.knowledge_chunk_tokens,
            settings.knowledge_chunk_overlap,
        )
        vectors = (
            await embedder.embed_documents([chunk.text for chunk in chunks])
            if chunks
            else np.zeros((0, 0), dtype=np.float32)
        )
    except ExtractionError as exc:
        return await _fail(sessions, claim, exc.message)
    except Exception as exc:
        log.warning("file %s: indexing failed", claim.file_uuid, exc_info=True)
        return await _fail(sessions, claim, f"The file could not be indexed ({type(exc).__name__})")
    async with sessions() as session, session.begin():
        current = await _current(session, claim)
        if current is None:
            return "skipped"
        await replace_file_chunks(session, workspace_uuid, claim.file_uuid, chunks, vectors, embedder.name)
        current.index_status, current.index_error, current.index_model = "ready", None, embedder.name
        current.index_claimed_at = None
    return "ready"


async def _fail(sessions: SessionFactory, claim: Claim, message: str) -> str:
    async with sessions() as session, session.begin():
        current = await _current(session, claim)
        if current is None:
            return "skipped"
        await delete_file_chunks(session, current.workspace_uuid, current.uuid)  # none of an older model's
        current.index_status, current.index_error, current.index_claimed_at = "error", message[:2000], None
    return "error"
