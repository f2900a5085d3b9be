"""The producing side of one stream: encode each chunk for the client's SDK version, fold it into
the message's parts, and append it to the broker.

Appends are group-committed: `emit` folds the chunk and queues it; one flush task per stream
hands everything queued to `broker.publish` in order, one call per batch. A model streams its
tokens in bursts (one network read holds many), so a burst costs one broker write (one Redis
round trip) and one reader wake-up instead of one per token. `open` and `close` wait until
everything is in the broker; a broker failure is raised by the next `emit`, `flush` or `close`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pydantic_ai.ui.vercel_ai.response_types import BaseChunk, StartChunk

from .. import metrics
from .broker import Broker
from .chunks import DONE, SdkVersion, dump_chunk, encode_chunk, filter_chunk
from .parts import PartsBuilder

__all__ = ["StreamPublisher"]


class StreamPublisher:
    def __init__(self, broker: Broker, stream_id: str, sdk_version: SdkVersion) -> None:
        self.broker = broker
        self.stream_id = stream_id
        self.sdk_version = sdk_version
        self.parts = PartsBuilder()
        self.closed = False
        self._queued: list[str] = []
        self._flusher: asyncio.Task[None] | None = None
        self._failed: Exception | None = None
        self._oldest = 0.0
        """When the oldest chunk still queued was emitted (the broker lag metric)."""

    async def open(self) -> None:
        """Write the `start` chunk. Done when the message is stored, before any reader subscribes,
        so a reader never finds the stream missing; the run then continues the same stream."""
        await self.emit(StartChunk(message_id=self.stream_id))
        await self.flush()

    async def emit(self, chunk: BaseChunk) -> None:
        data, text = encode_chunk(chunk, self.sdk_version)
        if text is None:
            return
        if data is not None:
            self._fold(data)
        self._queue(text)

    async def emit_dict(self, chunk: dict[str, Any]) -> None:
        data = filter_chunk(chunk, self.sdk_version)
        if data is None:
            return
        self._fold(data)
        self._queue(dump_chunk(data))

    async def flush(self) -> None:
        """Wait until every chunk emitted so far is in the broker."""
        while self._flusher is not None:
            await asyncio.shield(self._flusher)
        if self._failed is not None:
            raise self._failed

    async def close(self) -> None:
        """Write `[DONE]` and end the stream. Exactly once."""
        if self.closed:
            return
        self.closed = True
        self._queue(DONE)
        await self.flush()
        await self.broker.end(self.stream_id)

    def _queue(self, text: str) -> None:
        if self._failed is not None:
            raise self._failed
        if not self._queued:
            self._oldest = time.monotonic()
        self._queued.append(text)
        if self._flusher is None:
            self._flusher = asyncio.get_running_loop().create_task(self._flush_queued())

    async def _flush_queued(self) -> None:
        try:
            while self._queued:
                batch, self._queued, oldest = self._queued, [], self._oldest
                await self.broker.publish(self.stream_id, batch)
                metrics.BROKER_LAG.observe(time.monotonic() - oldest)
        except Exception as exc:
            self._failed = exc
        finally:
            self._flusher = None

    def _fold(self, data: dict[str, Any]) -> None:
        self.parts.add(data)
