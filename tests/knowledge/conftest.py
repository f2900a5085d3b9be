"""Fixtures of the knowledge tests: one local embedder per session (the model loads once)."""

from __future__ import annotations

import pytest

from cargohold.knowledge.embeddings import LocalEmbedder


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()
