"""Chunking, called directly: chunk boundaries are not visible through any route."""

from __future__ import annotations

import itertools

from cargohold.knowledge.chunking import chunk_sections
from cargohold.knowledge.embeddings import LocalEmbedder
from cargohold.knowledge.extract import Section


def test_chunks_are_about_max_tokens_with_overlap_and_keep_one_location(embedder: LocalEmbedder) -> None:
    count = embedder.count_tokens
    paragraphs = [f"Paragraph {i} talks about shipment number {i * 7} and its careful handling." for i in range(300)]
    sections = [
        Section("\n\n".join(paragraphs[:200]), "page 1"),
        Section("\n\n".join(paragraphs[200:]), "page 2"),
        Section("A short closing page.", "page 3"),
    ]
    chunks = chunk_sections(sections, count, max_tokens=800, overlap=200)
    assert all(c.token_count <= 800 for c in chunks)
    assert [c.token_count == count(c.text) for c in chunks] == [True] * len(chunks)
    page1 = [c for c in chunks if c.location == "page 1"]
    assert len(page1) >= 4 and all(c.token_count > 550 for c in page1[:-1])
    # Every paragraph of page 1 is in a page-1 chunk, and none of page 2's.
    for i in range(200):
        assert any(paragraphs[i] in c.text for c in page1)
    assert not any(paragraphs[250] in c.text for c in page1)
    # Consecutive chunks share up to `overlap` tokens: the next starts with the previous one's tail.
    for prev, nxt in itertools.pairwise(page1):
        prev_lines, next_lines = prev.text.split("\n"), nxt.text.split("\n")
        shared = [line for line in next_lines if line in prev_lines]
        assert shared and next_lines[: len(shared)] == shared == prev_lines[-len(shared) :]
        assert 100 < count("\n".join(shared)) <= 200
    assert chunks[-1].location == "page 3" and chunks[-1].text == "A short closing page."


def test_overlap_never_crosses_locations_and_huge_words_are_cut(embedder: LocalEmbedder) -> None:
    blob = "x" * 20000
    chunks = chunk_sections(
        [Section("intro", "A"), Section(blob, "B"), Section("outro", "C")], embedder.count_tokens, 100, 20
    )
    assert (chunks[0].location, chunks[0].text) == ("A", "intro")
    assert all(c.token_count <= 100 for c in chunks)
    assert "".join(c.text for c in chunks if c.location == "B").count("x") >= 20000
    assert chunks[-1].text == "outro"


def test_same_location_sections_are_joined() -> None:
    chunks = chunk_sections(
        [Section("one", "H"), Section("two", "H"), Section("three", None)], lambda t: len(t.split())
    )
    assert [(c.text, c.location) for c in chunks] == [("one\n\ntwo", "H"), ("three", None)]
