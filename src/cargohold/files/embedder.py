"""One embedder per configuration, shared by the indexer and the turns' search tools: loading the
local model takes a moment and its weights never change, so it is built once (off the event loop)."""

from __future__ import annotations

import asyncio
import json

from ..knowledge.embeddings import Embedder, get_embedder
from ..settings import Settings

__all__ = ["shared_embedder"]

_EMBEDDERS: dict[str, Embedder] = {}
_LOCK = asyncio.Lock()


def _key(settings: Settings) -> str:
    fields = {k: v for k, v in settings.model_dump(mode="json").items() if k.startswith("embedding")}
    return json.dumps(fields, sort_keys=True, default=str)


async def shared_embedder(settings: Settings) -> Embedder:
    key = _key(settings)
    if (found := _EMBEDDERS.get(key)) is not None:
        return found
    async with _LOCK:
        if (found := _EMBEDDERS.get(key)) is None:
            found = _EMBEDDERS[key] = await asyncio.to_thread(get_embedder, settings)
        return found
