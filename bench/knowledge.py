"""Knowledge benchmarks (issue 12, item 9).

    uv run python bench/knowledge.py index --pages 1000            # extract+chunk+embed+store, pages/s
    uv run python bench/knowledge.py search --chunks 100000 --database-url sqlite+aiosqlite:////tmp/kb.db
    uv run python bench/knowledge.py search --chunks 100000 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/DB --reset
    uv run python bench/knowledge.py recall                          # the recall@5 table

`index` generates a PDF of N pages (fpdf2; each page about 150 words), then times the whole path a
file takes: sniff, extract (pypdf), chunk (800/200 tokens), embed (all-MiniLM-L6-v2 in numpy),
store (SQLite). `search` fills one workspace with N chunks (synthetic text, random unit vectors:
the search cost does not depend on what the vectors mean) plus a second workspace of N/10, then
times `index.search` (keyword leg + vector leg + fusion + the hits' rows) with the query vector
precomputed, and reports the query embedding's own time separately. The first search of a process
loads the workspace's vectors into the cache: reported apart. `--reset` drops and recreates the
PostgreSQL database's `public` schema first (use a scratch database); a SQLite file is removed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the golden corpus lives in tests/

import numpy as np
import sqlalchemy as sa
from tests.knowledge.corpus import filler, report_pdf

from cargohold.crypto import load_keyring
from cargohold.db.engine import make_engine, make_session_factory, sqlite_file
from cargohold.db.migrate import upgrade
from cargohold.db.tables import KnowledgeChunk
from cargohold.knowledge.chunking import chunk_sections
from cargohold.knowledge.embeddings import LOCAL_MODEL, LocalEmbedder
from cargohold.knowledge.extract import extract, sniff_media_type
from cargohold.knowledge.index import _bump_version, keyword_search, replace_file_chunks, search, vector_search
from cargohold.store.workspaces import create_workspace

QUERIES = ["remote work policy for staff", "SKU-4471", "refrigerated container failure", "backup retention days"]


def _remove_sqlite(url: str) -> None:
    path = sqlite_file(url)
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


async def _database(url: str, reset: bool):
    if url.startswith("sqlite"):
        _remove_sqlite(url)
    engine = make_engine(url, keyring=load_keyring("bench-knowledge-secret-key", url))
    if reset and url.startswith("postgresql"):
        async with engine.begin() as conn:
            await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            await conn.execute(sa.text("CREATE SCHEMA public"))
    await upgrade(engine)
    return engine, make_session_factory(engine)


async def bench_index(pages: int) -> None:
    rng = random.Random(1)
    texts = [f"Page {n}: " + filler(rng, 12) for n in range(pages)]
    t0 = time.perf_counter()
    data = report_pdf(rng, texts)
    print(f"generated a {pages}-page PDF ({len(data):,} bytes) in {time.perf_counter() - t0:.1f}s")
    engine, sessions = await _database("sqlite+aiosqlite:////tmp/bench-knowledge-index.db", False)
    embedder = LocalEmbedder()
    embedder.model.embed(["warm up"])
    async with sessions() as session, session.begin():
        ws = (await create_workspace(session, "bench"))[0].uuid
    start = time.perf_counter()
    sections = extract(data, sniff_media_type(data, "report.pdf"), "report.pdf")
    t_extract = time.perf_counter()
    chunks = chunk_sections(sections, embedder.count_tokens)
    t_chunk = time.perf_counter()
    vectors = await embedder.embed_documents([c.text for c in chunks])
    t_embed = time.perf_counter()
    async with sessions() as session, session.begin():
        await replace_file_chunks(session, ws, uuid.uuid4(), chunks, vectors, embedder.name)
    end = time.perf_counter()
    tokens = sum(c.token_count for c in chunks)
    print(f"{pages} pages -> {len(chunks)} chunks, {tokens:,} tokens; load average {os.getloadavg()[0]:.1f}")
    print(
        f"extract {t_extract - start:.1f}s, chunk {t_chunk - t_extract:.1f}s, embed {t_embed - t_chunk:.1f}s"
        f" ({tokens / (t_embed - t_chunk):.0f} tokens/s), store {end - t_embed:.2f}s"
    )
    print(f"total {end - start:.1f}s: {pages / (end - start):.1f} pages/s")
    await engine.dispose()


class _FixedQuery:
    """The local model's name and size, with query vectors computed beforehand (timed apart)."""

    name, dimensions = LOCAL_MODEL, 384

    def __init__(self, vectors: dict[str, np.ndarray]) -> None:
        self.vectors = vectors

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def embed_documents(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    async def embed_query(self, text: str) -> np.ndarray:
        return self.vectors[text]


async def bench_search(url: str, chunks: int, reset: bool, rounds: int) -> None:
    engine, sessions = await _database(url, reset)
    rng = random.Random(2)
    nprng = np.random.default_rng(2)
    async with sessions() as session, session.begin():
        ws, other = [(await create_workspace(session, name))[0].uuid for name in ("bench", "other")]
    t0 = time.perf_counter()
    for workspace, count in ((ws, chunks), (other, chunks // 10)):
        per_file = 100
        for start in range(0, count, 5000):
            rows = []
            for n in range(start, min(start + 5000, count)):
                vector = nprng.standard_normal(384).astype(np.float32)
                vector /= np.linalg.norm(vector)
                text = filler(rng, 8) + (" SKU-4471 remote work policy" if n % 997 == 0 else "")
                rows.append(
                    {
                        "workspace_uuid": workspace,
                        "file_uuid": uuid.UUID(int=n // per_file + 1),
                        "seq": n % per_file,
                        "location": f"page {n % per_file + 1}",
                        "text": text,
                        "token_count": 120,
                        "embedding": vector.tobytes(),
                        "model": LOCAL_MODEL,
                        "dimensions": 384,
                    }
                )
            async with sessions() as session, session.begin():
                await session.execute(sa.insert(KnowledgeChunk), rows)
                await _bump_version(session, workspace)
    print(f"{url.split(':')[0]}: inserted {chunks:,} + {chunks // 10:,} chunks in {time.perf_counter() - t0:.0f}s")
    if url.startswith("postgresql"):
        async with engine.connect() as conn:
            await conn.execute(sa.text("ANALYZE knowledge_chunks"))
    real = LocalEmbedder()
    real.model.embed(["warm up"])
    embed_times = []
    vectors = {}
    for q in QUERIES:
        t = time.perf_counter()
        vectors[q] = await real.embed_query(q)
        embed_times.append(time.perf_counter() - t)
    embedder = _FixedQuery(vectors)
    async with sessions() as session:
        t = time.perf_counter()
        await search(session, embedder, ws, QUERIES[0], file_uuids=None)
        print(f"first search (loads {chunks:,} vectors into the cache): {1000 * (time.perf_counter() - t):.0f} ms")
    for label, files in (("whole workspace", None), ("10 files", [uuid.UUID(int=i + 1) for i in range(10)])):
        times = []
        for _ in range(rounds):
            for q in QUERIES:
                async with sessions() as session:
                    t = time.perf_counter()
                    hits = await search(session, embedder, ws, q, file_uuids=files)
                    times.append(time.perf_counter() - t)
                assert hits
        times.sort()
        print(
            f"search ({label}, {len(times)} queries): p50 {1000 * statistics.median(times):.1f} ms,"
            f" p95 {1000 * times[int(len(times) * 0.95)]:.1f} ms; load average {os.getloadavg()[0]:.1f}"
        )
    for leg in ("keyword", "vector"):
        times = []
        for _ in range(rounds):
            for q in QUERIES:
                async with sessions() as session:
                    t = time.perf_counter()
                    if leg == "keyword":
                        await keyword_search(session, ws, q, file_uuids=None, limit=50)
                    else:
                        await vector_search(session, embedder, ws, q, file_uuids=None, limit=50)
                    times.append(time.perf_counter() - t)
        print(
            f"{leg} leg alone (whole workspace): p50 {1000 * statistics.median(times):.1f} ms;"
            f" load average {os.getloadavg()[0]:.1f}"
        )
    print(f"query embedding (local model): p50 {1000 * statistics.median(embed_times):.0f} ms")
    await engine.dispose()


async def bench_recall() -> None:
    from tests.knowledge.recall import index_corpus, measure, table

    engine, sessions = await _database("sqlite+aiosqlite:////tmp/bench-knowledge-recall.db", False)
    async with sessions() as session, session.begin():
        ws = (await create_workspace(session, "recall"))[0].uuid
    embedder = LocalEmbedder()
    await index_corpus(sessions, embedder, ws)
    recall = await measure(sessions, embedder, ws)
    print(table(recall))
    print("misses:", recall.misses)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    index = sub.add_parser("index")
    index.add_argument("--pages", type=int, default=1000)
    find = sub.add_parser("search")
    find.add_argument("--chunks", type=int, default=100_000)
    find.add_argument("--database-url", default="sqlite+aiosqlite:////tmp/bench-knowledge-search.db")
    find.add_argument("--reset", action="store_true")
    find.add_argument("--rounds", type=int, default=10)
    sub.add_parser("recall")
    args = parser.parse_args()
    if args.command == "index":
        asyncio.run(bench_index(args.pages))
    elif args.command == "search":
        asyncio.run(bench_search(args.database_url, args.chunks, args.reset, args.rounds))
    else:
        asyncio.run(bench_recall())


if __name__ == "__main__":
    main()
