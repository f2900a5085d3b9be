"""The embedder the settings name, built off the event loop (the local model takes a moment to
load; `knowledge.embeddings.get_embedder` keeps one per configuration)."""

from __future__ import annotations

import asyncio

from ..knowledge.embeddings import Embedder, get_embedder
from ..settings import Settings

__all__ = ["shared_embedder"]


async def shared_embedder(settings: Settings) -> Embedder:
    return await asyncio.to_thread(get_embedder, settings)
