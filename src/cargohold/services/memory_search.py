"""How memories are matched and ranked: the one place that knows whether an embedder is here.

- `normalized(text)`: the key of "the same fact" (case, spacing and end punctuation ignored).
- With an embedder (`embedder_for`: the knowledge room's `knowledge.embeddings.get_embedder`, once
  that room is installed), memories are ranked by cosine similarity (rows are L2-normalised, so a
  dot product) plus a small keyword bonus, and a new fact that close to a kept one
  (`CARGOHOLD_MEMORY_DUPLICATE_SIMILARITY`) updates it.
- Without one, by keyword overlap (words of 3+ letters, common words left out, plural `s` folded).
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ..settings import Settings

__all__ = ["Embedder", "embed_document", "embed_query", "embedder_for", "keywords", "normalized", "rank"]

log = logging.getLogger(__name__)
_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(
    """the and for are was were with that this from have has had you your yours our they them their what which
    who whom when where why how not but all any can will would should could about into over than then there
    here its also just like user users does did doing done been being very more most some such""".split()  # noqa: SIM905 (a word list reads better as text)
)
RELEVANT_SIMILARITY = 0.3
"""Below this cosine a memory is not relevant to a message (it may still be given as a recent one)."""


class Embedder(Protocol):
    def embed_documents(self, texts: Sequence[str]) -> Any: ...
    def embed_query(self, text: str) -> Any: ...


def normalized(text: str) -> str:
    return " ".join(text.lower().split()).rstrip(" .!;")


def keywords(text: str) -> set[str]:
    words = (w.lower() for w in _WORD.findall(text))
    return {
        w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
        for w in words
        if len(w) >= 3 and w not in _STOP
    }


def embedder_for(settings: Settings) -> Embedder | None:
    """The configured embedder, or None (keyword search) while the knowledge room is not installed."""
    try:
        module = importlib.import_module("cargohold.knowledge.embeddings")
    except ImportError:
        return None
    try:
        embedder: Embedder | None = module.get_embedder(settings)
    except Exception:
        log.warning("memory: the embedder could not be built; ranking by keywords", exc_info=True)
        return None
    return embedder


async def _call(method: Any, arg: Any) -> np.ndarray:
    if inspect.iscoroutinefunction(method):
        out = await method(arg)
    else:  # a local model runs off the event loop
        out = await asyncio.to_thread(method, arg)
    return np.asarray(out, dtype=np.float32)


async def embed_document(embedder: Embedder | None, text: str) -> bytes | None:
    """The text's vector as float32 bytes; None without an embedder, or when it fails (the memory is
    then kept and found by its words: an embeddings service being down loses no fact)."""
    if embedder is None:
        return None
    try:
        return (await _call(embedder.embed_documents, [text])).reshape(-1).astype(np.float32).tobytes()
    except Exception:
        log.warning("memory: embedding failed; kept without a vector", exc_info=True)
        return None


async def embed_query(embedder: Embedder | None, text: str) -> np.ndarray | None:
    if embedder is None or not text.strip():
        return None
    try:
        return (await _call(embedder.embed_query, text)).reshape(-1)
    except Exception:
        log.warning("memory: embedding the query failed; ranking by keywords", exc_info=True)
        return None


def _overlap(query: set[str], text: str) -> float:
    if not query:
        return 0.0
    return len(query & keywords(text)) / len(query)


def rank(
    query: str, items: Sequence[tuple[str, bytes | None]], query_vector: np.ndarray | None
) -> list[tuple[int, float]]:
    """(index, score) of the items relevant to `query`, best first. Items are (content, embedding)."""
    wanted = keywords(query)
    scored: list[tuple[int, float]] = []
    for i, (content, embedding) in enumerate(items):
        bonus = _overlap(wanted, content)
        if query_vector is not None and embedding is not None:
            vector = np.frombuffer(embedding, dtype=np.float32)
            if vector.shape == query_vector.shape:
                similarity = float(vector @ query_vector)
                if similarity >= RELEVANT_SIMILARITY or bonus > 0:
                    scored.append((i, similarity + 0.1 * bonus))
                continue
        if bonus > 0:
            scored.append((i, bonus))
    return sorted(scored, key=lambda item: -item[1])
