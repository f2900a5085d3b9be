"""The keyword leg: SQLite FTS5 ranked by `bm25()`, PostgreSQL full-text ranked by `ts_rank_cd`.

The one place the two dialects differ for search (the tables come from migration 0013). The query
is reduced to its words (stop words dropped), OR-ed: a question rarely shares every word with its
passage, and the ranking rewards passages that share more and rarer ones. Words are `\\w+` runs,
so nothing a user types reaches either query language as syntax. `SKU-4471` is the words `sku`
and `4471` on both sides (both tokenizers split at the hyphen).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import KnowledgeChunk as C

__all__ = ["keyword_hits", "keyword_ids", "query_terms"]

MAX_TERMS = 32
COMMON_TERM_CHUNKS = 2000
"""A word found in more chunks than this (in the whole index) is too common to rank by: ranking
an OR over it scores every chunk holding it (seconds at 100,000 chunks). It is left out of the
OR; when every word is that common, they are AND-ed instead."""
# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "did", "do", "does", "for",
    "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its", "may", "me", "might", "must",
    "my", "no", "not", "of", "on", "or", "our", "shall", "should", "so", "than", "that", "the", "their", "them",
    "then", "there", "these", "they", "this", "to", "us", "was", "we", "were", "what", "when", "where", "which",
    "who", "whom", "why", "will", "with", "would", "you", "your",
})
# fmt: on
_WORD = re.compile(r"\w+")


def query_terms(query: str) -> list[str]:
    seen: dict[str, None] = {}
    for word in _WORD.findall(query.lower()):
        if word not in STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


async def keyword_ids(
    session: AsyncSession, workspace_uuid: UUID, query: str, file_uuids: Collection[UUID] | None, limit: int
) -> list[int]:
    """Chunk ids of the workspace matching `query`'s words, best first."""
    return [chunk_id for chunk_id, _ in await keyword_hits(session, workspace_uuid, query, file_uuids, limit)]


async def keyword_hits(
    session: AsyncSession, workspace_uuid: UUID, query: str, file_uuids: Collection[UUID] | None, limit: int
) -> list[tuple[int, float]]:
    """(chunk id, coverage) of the workspace's chunks matching `query`'s words, best first.
    Coverage is the share (0-1] of the query's searched words the chunk holds: hybrid search lets
    only chunks holding at least half of them vote (`index.MIN_KEYWORD_COVERAGE`)."""
    terms = query_terms(query)
    if not terms or (file_uuids is not None and not file_uuids):
        return []
    scope = [C.workspace_uuid == workspace_uuid]
    if file_uuids is not None:
        scope.append(C.file_uuid.in_(list(file_uuids)))
    sqlite = session.get_bind().dialect.name == "sqlite"
    rare = [t for t in terms if await _chunks_with(session, sqlite, t, COMMON_TERM_CHUNKS + 1) <= COMMON_TERM_CHUNKS]
    words, joiner = (rare, "OR") if rare else (terms, "AND")
    counted = words if joiner == "OR" and len(words) > 1 else []
    if sqlite:
        fts = sa.table("knowledge_chunks_fts", sa.column("rowid"))

        def has(n: int, term: str) -> sa.ColumnElement[Any]:
            matching = sa.select(fts.c.rowid).where(
                sa.text(f"knowledge_chunks_fts MATCH :term{n}").bindparams(**{f"term{n}": f'"{term}"'})
            )
            return sa.cast(C.id.in_(matching.scalar_subquery()), sa.Integer)

        match = f" {joiner} ".join(f'"{term}"' for term in words)
        stmt = (
            sa.select(C.id, *[has(n, t) for n, t in enumerate(counted)])
            .select_from(fts.join(C, C.id == fts.c.rowid))
            .where(sa.text("knowledge_chunks_fts MATCH :match").bindparams(match=match), *scope)
            .order_by(sa.text("bm25(knowledge_chunks_fts)"))
            .limit(limit)
        )
    else:
        vector = _TEXT_SEARCH
        tsquery = _tsquery((" | " if joiner == "OR" else " & ").join(words))
        stmt = (
            sa.select(C.id, *[sa.cast(vector.op("@@")(_tsquery(t)), sa.Integer) for t in counted])
            .where(vector.op("@@")(tsquery), *scope)
            .order_by(sa.func.ts_rank_cd(vector, tsquery).desc(), C.id)
            .limit(limit)
        )
    rows = (await session.execute(stmt)).all()
    return [(row[0], sum(row[1:]) / len(counted) if counted else 1.0) for row in rows]


_TEXT_SEARCH: sa.ColumnElement[Any] = sa.literal_column("knowledge_chunks.text_search")


def _tsquery(text: str) -> sa.ColumnElement[Any]:
    return sa.func.to_tsquery(sa.literal_column("'english'::regconfig"), text)


async def _chunks_with(session: AsyncSession, sqlite: bool, term: str, cap: int) -> int:
    """How many chunks (of all workspaces) hold `term`, counted up to `cap` (stops there: cheap)."""
    if sqlite:
        inner = sa.text("SELECT 1 FROM knowledge_chunks_fts WHERE knowledge_chunks_fts MATCH :t LIMIT :cap")
        stmt = sa.select(sa.func.count()).select_from(inner.bindparams(t=f'"{term}"', cap=cap).columns().subquery())
    else:
        hits = (
            sa.select(sa.literal(1)).select_from(C).where(_TEXT_SEARCH.op("@@")(_tsquery(term))).limit(cap).subquery()
        )
        stmt = sa.select(sa.func.count()).select_from(hits)
    return int((await session.execute(stmt)).scalar_one())
