"""The index, called directly on SQLite and PostgreSQL (the files API that reaches it is the files
engineer's; these pin what search may and may not return)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from cargohold.db.tables import KnowledgeChunk
from cargohold.knowledge.chunking import Chunk
from cargohold.knowledge.embeddings import LocalEmbedder
from cargohold.knowledge.index import (
    delete_file_chunks,
    files_needing_reindex,
    replace_file_chunks,
    search,
)

from .conftest import IndexDb

POLICY = "Staff may work from home on Tuesdays and Thursdays; other days they are in the office."
FORKLIFT = "Forklift batteries are charged overnight in bay 4 and checked every Monday."
SKU = "SKU-4471 is the blue pallet wrap, 500 mm wide, stocked in the Rotterdam warehouse."


async def index(db: IndexDb, embedder: LocalEmbedder, ws: uuid.UUID, file: uuid.UUID, *texts: str) -> None:
    chunks = [Chunk(t, f"page {n}", embedder.count_tokens(t)) for n, t in enumerate(texts, 1)]
    vectors = await embedder.embed_documents(list(texts))
    async with db.sessions() as session, session.begin():
        await replace_file_chunks(session, ws, file, chunks, vectors, embedder.name)


async def find(db: IndexDb, embedder: LocalEmbedder, ws: uuid.UUID, query: str, **kwargs):
    async with db.sessions() as session:
        return await search(session, embedder, ws, query, file_uuids=kwargs.pop("file_uuids", None), **kwargs)


async def test_search_finds_paraphrases_and_identifiers(index_db: IndexDb, embedder: LocalEmbedder) -> None:
    ws, file = index_db.workspaces[0], uuid.uuid4()
    await index(index_db, embedder, ws, file, POLICY, FORKLIFT, SKU)
    hits = await find(index_db, embedder, ws, "which days can employees work remotely?")
    assert hits[0].text == POLICY and hits[0].location == "page 1" and hits[0].file_uuid == file
    assert hits[0].vector_score is not None and hits[0].vector_score > 0.4
    hits = await find(index_db, embedder, ws, "SKU-4471")
    assert hits[0].text == SKU and hits[0].keyword_rank == 1
    assert hits[0].score == pytest.approx(2 / 61) or hits[0].score > 1 / 61


async def test_replaced_and_deleted_text_is_never_returned(index_db: IndexDb, embedder: LocalEmbedder) -> None:
    ws, file = index_db.workspaces[0], uuid.uuid4()
    await index(index_db, embedder, ws, file, "The launch code is ALPHA-7.", FORKLIFT)
    assert "ALPHA-7" in (await find(index_db, embedder, ws, "launch code"))[0].text  # the cache is warm now
    await index(index_db, embedder, ws, file, "The launch code is BRAVO-9.")
    for query in ("launch code", "ALPHA-7", "forklift batteries"):
        texts = [h.text for h in await find(index_db, embedder, ws, query)]
        assert texts == ["The launch code is BRAVO-9."]
    async with index_db.sessions() as session, session.begin():
        assert await delete_file_chunks(session, ws, file) == 1
    assert await find(index_db, embedder, ws, "launch code BRAVO-9") == []


async def test_a_rolled_back_replace_keeps_the_old_chunks(index_db: IndexDb, embedder: LocalEmbedder) -> None:
    ws, file = index_db.workspaces[0], uuid.uuid4()
    await index(index_db, embedder, ws, file, FORKLIFT)
    with pytest.raises(RuntimeError):
        async with index_db.sessions() as session, session.begin():
            vectors = await embedder.embed_documents([POLICY])
            await replace_file_chunks(session, ws, file, [Chunk(POLICY, None, 20)], vectors, embedder.name)
            raise RuntimeError("the job failed half-way")
    assert [h.text for h in await find(index_db, embedder, ws, "forklift")] == [FORKLIFT]


async def test_workspaces_and_file_filters_isolate(index_db: IndexDb, embedder: LocalEmbedder) -> None:
    (ws_a, ws_b), file_a, file_b, file_c = index_db.workspaces, uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await index(index_db, embedder, ws_a, file_a, POLICY)
    await index(index_db, embedder, ws_a, file_c, FORKLIFT)
    await index(index_db, embedder, ws_b, file_b, POLICY + " (workspace b)")
    hits = await find(index_db, embedder, ws_a, "work from home")
    assert {h.file_uuid for h in hits} <= {file_a, file_c} and hits[0].file_uuid == file_a
    # A file of another workspace named in the filter finds nothing: the workspace is always applied.
    assert await find(index_db, embedder, ws_a, "work from home", file_uuids=[file_b]) == []
    assert await find(index_db, embedder, ws_a, "work from home", file_uuids=[]) == []
    only_c = await find(index_db, embedder, ws_a, "work from home", file_uuids=[file_c])
    assert {h.file_uuid for h in only_c} == {file_c}


async def test_min_score_filters_the_vector_leg_only(index_db: IndexDb, embedder: LocalEmbedder) -> None:
    ws, file = index_db.workspaces[0], uuid.uuid4()
    await index(index_db, embedder, ws, file, POLICY, FORKLIFT, SKU)
    loose = await find(index_db, embedder, ws, "remote working days")
    assert len(loose) == 3  # the vector leg ranks every chunk
    strict = await find(index_db, embedder, ws, "remote working days", min_score=0.3)
    assert [h.text for h in strict] == [POLICY]
    # An identifier no vector is close to still comes through the keyword leg.
    ident = await find(index_db, embedder, ws, "4471", min_score=0.99)
    assert [h.text for h in ident] == [SKU] and ident[0].vector_score is None


async def test_files_made_by_another_model_need_reindexing(index_db: IndexDb, embedder: LocalEmbedder) -> None:
    ws, current, stale = index_db.workspaces[0], uuid.uuid4(), uuid.uuid4()
    await index(index_db, embedder, ws, current, POLICY)
    async with index_db.sessions() as session, session.begin():
        vectors = (await embedder.embed_documents([FORKLIFT]))[:, :16]
        await replace_file_chunks(session, ws, stale, [Chunk(FORKLIFT, None, 15)], vectors, "old-model")
    async with index_db.sessions() as session:
        assert (ws, stale) in await files_needing_reindex(session, embedder)
        assert (ws, current) not in await files_needing_reindex(session, embedder)
        dims = await session.execute(sa.select(KnowledgeChunk.dimensions).where(KnowledgeChunk.file_uuid == stale))
        assert dims.scalar_one() == 16
    # Its text is still found by keyword; the vector leg skips vectors of another model.
    hits = await find(index_db, embedder, ws, "forklift batteries")
    assert hits[0].text == FORKLIFT and hits[0].vector_score is None
