"""The hybrid index of a workspace's file chunks: write, delete, search.

    async with session.begin():
        await replace_file_chunks(session, ws, file_uuid, chunks, vectors, embedder.name)
    hits = await search(session, embedder, ws, "which days can staff work remotely", file_uuids=None)

Writes flush and never commit (the caller's transaction): a file's old chunks are deleted in the
transaction that inserts its new ones, so no search sees both, nor the old text after the commit.

Search runs two legs over the workspace (narrowed to `file_uuids` when given) and fuses them by
reciprocal rank (RRF, k=60; the keyword leg votes only for chunks holding at least half of the
query's searched words, `MIN_KEYWORD_COVERAGE`): keyword (`_keyword.py`: FTS5 bm25 / PostgreSQL ts_rank_cd) and vector
(`_vectors.py`: brute-force cosine in numpy over an in-memory matrix of the workspace's vectors).
`min_score` is a cosine threshold on the vector leg, applied before fusion: RRF scores (about
0.016-0.033) are not comparable to cosine. Only chunks embedded by the current model take part in
the vector leg; the keyword leg sees every chunk. If the embedder fails (a remote service down),
search logs a warning and answers from the keyword leg alone rather than with nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from uuid import UUID

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import KnowledgeChunk as C
from ..db.tables import KnowledgeIndexVersion as V
from ._keyword import keyword_hits, keyword_ids
from ._vectors import VectorCache, default_cache
from .chunking import Chunk
from .embeddings import Embedder, EmbeddingFailed

__all__ = [
    "RRF_K",
    "Hit",
    "VectorCache",
    "default_cache",
    "delete_file_chunks",
    "files_needing_reindex",
    "keyword_search",
    "replace_file_chunks",
    "search",
    "vector_search",
]

log = logging.getLogger(__name__)
RRF_K = 60
CANDIDATES = 50
"""Each leg proposes this many chunks (at least top_k) for fusion."""
MIN_KEYWORD_COVERAGE = 0.5
"""In fusion, the keyword leg votes only for chunks holding at least this share of the query's
searched words ("minimum should match", as Lucene has it). RRF rewards chunks both legs found: a
chunk sharing one common word with a question ("work", "company") would otherwise outvote the
vector leg's best passage just by also being somewhere in its list. The keyword leg alone still
ranks every chunk holding any of the words."""


async def _embed_query(embedder: Embedder, query: str) -> npt.NDArray[np.float32] | None:
    try:
        return await embedder.embed_query(query)
    except EmbeddingFailed as exc:
        log.warning("knowledge search without its vector leg: %s", exc)
        return None


@dataclass
class Hit:
    file_uuid: UUID
    location: str | None
    text: str
    score: float
    """The fused (RRF) score: compare hits of one search, not across searches or with cosine."""
    chunk_id: int
    vector_score: float | None = None
    """The chunk's cosine similarity to the query, when the vector leg found it."""
    keyword_rank: int | None = None
    """The chunk's rank (1 = best) in the keyword leg, when that leg found it."""


async def replace_file_chunks(
    session: AsyncSession,
    workspace_uuid: UUID,
    file_uuid: UUID,
    chunks: Sequence[Chunk],
    vectors: npt.NDArray[np.float32],
    model_name: str,
) -> None:
    """The file's chunks become `chunks` (old ones deleted in this transaction)."""
    if len(chunks) != len(vectors):
        raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
    await session.execute(sa.delete(C).where(C.workspace_uuid == workspace_uuid, C.file_uuid == file_uuid))
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dimensions = int(vectors.shape[1]) if vectors.ndim == 2 else 0
    if chunks:
        await session.execute(
            sa.insert(C),
            [
                {
                    "workspace_uuid": workspace_uuid,
                    "file_uuid": file_uuid,
                    "seq": seq,
                    "location": chunk.location[:500] if chunk.location else None,
                    "text": chunk.text,
                    "token_count": chunk.token_count,
                    "embedding": vectors[seq].tobytes(),
                    "model": model_name,
                    "dimensions": dimensions,
                }
                for seq, chunk in enumerate(chunks)
            ],
        )
    await _bump_version(session, workspace_uuid)


async def delete_file_chunks(session: AsyncSession, workspace_uuid: UUID, file_uuid: UUID) -> int:
    """Remove the file's chunks; the number removed."""
    result = await session.execute(
        sa.delete(C).where(C.workspace_uuid == workspace_uuid, C.file_uuid == file_uuid).returning(C.id)
    )
    removed = len(result.all())
    if removed:
        await _bump_version(session, workspace_uuid)
    return removed


async def _bump_version(session: AsyncSession, workspace_uuid: UUID) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(V).values(workspace_uuid=workspace_uuid, version=1)
    await session.execute(
        stmt.on_conflict_do_update(index_elements=[V.workspace_uuid], set_={"version": V.version + 1})
    )


async def files_needing_reindex(session: AsyncSession, embedder: Embedder) -> list[tuple[UUID, UUID]]:
    """(workspace_uuid, file_uuid) of files with chunks made by another model or dimension: after
    the embedding model changes, these are to be indexed again (all workspaces: for the job)."""
    stale = C.model != embedder.name
    if embedder.dimensions:
        stale = sa.or_(stale, C.dimensions != embedder.dimensions)
    rows = await session.execute(sa.select(C.workspace_uuid, C.file_uuid).where(stale).distinct())
    return [(row[0], row[1]) for row in rows]


async def keyword_search(
    session: AsyncSession, workspace_uuid: UUID, query: str, *, file_uuids: Collection[UUID] | None, limit: int
) -> list[int]:
    """The keyword leg alone: chunk ids, best first."""
    return await keyword_ids(session, workspace_uuid, query, file_uuids, limit)


async def vector_search(
    session: AsyncSession,
    embedder: Embedder,
    workspace_uuid: UUID,
    query: str,
    *,
    file_uuids: Collection[UUID] | None,
    limit: int,
    min_score: float | None = None,
    cache: VectorCache | None = None,
) -> list[tuple[int, float]]:
    """The vector leg alone: (chunk id, cosine), best first."""
    if file_uuids is not None and not file_uuids:
        return []
    vector = await embedder.embed_query(query)
    return await (cache or default_cache).nearest(
        session, workspace_uuid, vector, model=embedder.name, file_uuids=file_uuids, limit=limit, min_score=min_score
    )


async def search(
    session: AsyncSession,
    embedder: Embedder,
    workspace_uuid: UUID,
    query: str,
    *,
    file_uuids: Collection[UUID] | None,
    top_k: int = 5,
    min_score: float | None = None,
    cache: VectorCache | None = None,
) -> list[Hit]:
    """The `top_k` best chunks of the workspace (of `file_uuids` only, when given) for `query`."""
    if not query.strip() or top_k < 1:
        return []
    candidates = max(CANDIDATES, top_k)
    cache = cache or default_cache
    no_files = file_uuids is not None and not file_uuids
    # The query's embedding (a thread, or a remote call) runs while the keyword leg reads.
    embedding = None if no_files else asyncio.ensure_future(_embed_query(embedder, query))
    try:
        keyword = await keyword_hits(session, workspace_uuid, query, file_uuids, candidates)
    except BaseException:
        if embedding is not None:
            embedding.cancel()
        raise
    vector: list[tuple[int, float]] = []
    if embedding is not None and (query_vector := await embedding) is not None:
        vector = await cache.nearest(
            session,
            workspace_uuid,
            query_vector,
            model=embedder.name,
            file_uuids=file_uuids,
            limit=candidates,
            min_score=min_score,
        )
    fused: dict[int, float] = {}
    voters = [chunk_id for chunk_id, coverage in keyword if coverage >= MIN_KEYWORD_COVERAGE]
    for rank, chunk_id in enumerate(voters, 1):
        fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    for rank, (chunk_id, _) in enumerate(vector, 1):
        fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (RRF_K + rank)
    best = sorted(fused, key=lambda i: -fused[i])[: top_k * 2]  # spare ones, should some be gone
    if not best:
        return []
    rows = await session.execute(
        sa.select(C.id, C.file_uuid, C.location, C.text).where(C.workspace_uuid == workspace_uuid, C.id.in_(best))
    )
    found = {row[0]: row for row in rows}
    cosine = dict(vector)
    ranks = {chunk_id: rank for rank, (chunk_id, _) in enumerate(keyword, 1)}
    hits = [
        Hit(found[i][1], found[i][2], found[i][3], fused[i], i, cosine.get(i), ranks.get(i)) for i in best if i in found
    ]
    return hits[:top_k]
