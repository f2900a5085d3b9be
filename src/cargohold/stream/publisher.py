"""The producing side of one stream: encode each chunk for the client's SDK version, fold it into
the message's parts, and append it to the broker."""

from __future__ import annotations

from typing import Any

from pydantic_ai.ui.vercel_ai.response_types import BaseChunk, StartChunk

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

    async def open(self) -> None:
        """Write the `start` chunk. Done when the message is stored, before any reader subscribes,
        so a reader never finds the stream missing; the run then continues the same stream."""
        await self.emit(StartChunk(message_id=self.stream_id))

    async def emit(self, chunk: BaseChunk) -> None:
        data, text = encode_chunk(chunk, self.sdk_version)
        if text is None:
            return
        if data is not None:
            self._fold(data)
        await self.broker.publish(self.stream_id, [text])

    async def emit_dict(self, chunk: dict[str, Any]) -> None:
        data = filter_chunk(chunk, self.sdk_version)
        if data is None:
            return
        self._fold(data)
        await self.broker.publish(self.stream_id, [dump_chunk(data)])

    async def close(self) -> None:
        """Write `[DONE]` and end the stream. Exactly once."""
        if self.closed:
            return
        self.closed = True
        await self.broker.publish(self.stream_id, [DONE])
        await self.broker.end(self.stream_id)

    def _fold(self, data: dict[str, Any]) -> None:
        self.parts.add(data)
