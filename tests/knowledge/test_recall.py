"""Recall@5 on the golden set (tests/knowledge/corpus.py): hybrid search finds both identifiers and
paraphrases, and beats each of its legs alone. Called directly: recall is a property of the index."""

from __future__ import annotations

import pytest

from cargohold.knowledge.embeddings import LocalEmbedder

from .conftest import IndexDb
from .corpus import GOLDEN
from .recall import index_corpus, measure, table


async def test_hybrid_recall_at_5_beats_each_leg(index_db: IndexDb, embedder: LocalEmbedder) -> None:
    if index_db.backend != "sqlite":
        pytest.skip("recall is measured once, on SQLite (PostgreSQL search is covered by test_index)")
    assert len(GOLDEN) >= 30
    ws = index_db.workspaces[0]
    await index_corpus(index_db.sessions, embedder, ws)
    recall = await measure(index_db.sessions, embedder, ws)
    print("\n" + table(recall), recall.misses)
    assert recall.hybrid["all"] > recall.keyword["all"], recall.misses
    assert recall.hybrid["all"] > recall.vector["all"], recall.misses
    assert recall.hybrid["all"] >= 0.9
    assert recall.hybrid["identifier"] == 1.0
