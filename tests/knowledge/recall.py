"""Recall@k of the keyword leg, the vector leg and hybrid search on the golden set: shared by the
recall test and bench/knowledge.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cargohold.db.tables import KnowledgeChunk
from cargohold.knowledge.chunking import chunk_sections
from cargohold.knowledge.embeddings import Embedder
from cargohold.knowledge.extract import extract, sniff_media_type
from cargohold.knowledge.index import keyword_search, replace_file_chunks, search, vector_search

from .corpus import GOLDEN, Question, build_corpus


@dataclass
class Recall:
    keyword: dict[str, float]
    vector: dict[str, float]
    hybrid: dict[str, float]
    misses: dict[str, list[str]]


async def index_corpus(sessions: async_sessionmaker[AsyncSession], embedder: Embedder, workspace: uuid.UUID) -> None:
    for name, data in build_corpus().items():
        sections = extract(data, sniff_media_type(data, name), name)
        chunks = chunk_sections(sections, embedder.count_tokens)
        vectors = await embedder.embed_documents([c.text for c in chunks])
        async with sessions() as session, session.begin():
            await replace_file_chunks(session, workspace, uuid.uuid4(), chunks, vectors, embedder.name)


class _QueryMemo:
    """The embedder with each query embedded once (the vector leg and hybrid search both ask)."""

    def __init__(self, embedder: Embedder) -> None:
        self.inner, self.name, self.dimensions, self._memo = embedder, embedder.name, embedder.dimensions, {}

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    async def embed_documents(self, texts: list[str]):
        return await self.inner.embed_documents(texts)

    async def embed_query(self, text: str):
        if text not in self._memo:
            self._memo[text] = await self.inner.embed_query(text)
        return self._memo[text]


async def measure(
    sessions: async_sessionmaker[AsyncSession], embedder: Embedder, workspace: uuid.UUID, k: int = 5
) -> Recall:
    embedder = _QueryMemo(embedder)
    found: dict[str, list[tuple[Question, bool]]] = {"keyword": [], "vector": [], "hybrid": []}
    async with sessions() as session:

        async def texts(ids: list[int]) -> list[str]:
            stmt = sa.select(KnowledgeChunk.id, KnowledgeChunk.text).where(KnowledgeChunk.id.in_(ids))
            by_id = {row[0]: row[1] for row in await session.execute(stmt)}
            return [by_id[i] for i in ids]

        for q in GOLDEN:
            kw = await texts(await keyword_search(session, workspace, q.question, file_uuids=None, limit=k))
            vec = await vector_search(session, embedder, workspace, q.question, file_uuids=None, limit=k)
            vec_texts = await texts([i for i, _ in vec])
            hyb = [h.text for h in await search(session, embedder, workspace, q.question, file_uuids=None, top_k=k)]
            for leg, got in (("keyword", kw), ("vector", vec_texts), ("hybrid", hyb)):
                found[leg].append((q, any(q.needle in t for t in got)))

    def rate(leg: str) -> dict[str, float]:
        out = {}
        for kind in ("identifier", "paraphrase", "all"):
            rows = [hit for q, hit in found[leg] if kind in ("all", q.kind)]
            out[kind] = sum(rows) / len(rows)
        return out

    misses = {leg: [q.question for q, hit in rows if not hit] for leg, rows in found.items()}
    return Recall(rate("keyword"), rate("vector"), rate("hybrid"), misses)


def table(recall: Recall) -> str:
    lines = ["| leg | identifiers | paraphrases | all |", "|---|---|---|---|"]
    for leg in ("keyword", "vector", "hybrid"):
        r = getattr(recall, leg)
        lines.append(f"| {leg} | {r['identifier']:.2f} | {r['paraphrase']:.2f} | {r['all']:.2f} |")
    return "\n".join(lines)
