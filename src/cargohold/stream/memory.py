"""The in-process broker: the embedded default (one process, no Redis)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from .broker import CancelCallback, StreamEntry, Unregister, one_by_one

__all__ = ["MemoryBroker"]

_CURSOR = re.compile(r"[0-9]{1,18}")


@dataclass
class _Stream:
    chunks: list[str] = field(default_factory=list)
    ended: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class MemoryBroker:
    def __init__(self, retention_seconds: float = 600.0) -> None:
        self.retention_seconds = retention_seconds
        self._streams: dict[str, _Stream] = {}
        self._callbacks: dict[str, CancelCallback] = {}
        self._pending_cancels: dict[str, float] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for stream in self._streams.values():
            stream.ended = True
            stream.wake()

    async def publish(self, stream_id: str, chunks: Sequence[str]) -> None:
        stream = self._streams.setdefault(stream_id, _Stream())
        stream.chunks.extend(chunks)
        stream.wake()

    async def end(self, stream_id: str) -> None:
        stream = self._streams.setdefault(stream_id, _Stream())
        if stream.ended:
            return
        stream.ended = True
        stream.wake()
        asyncio.get_running_loop().call_later(self.retention_seconds, self._drop, stream_id, stream)

    def _drop(self, stream_id: str, stream: _Stream) -> None:
        if self._streams.get(stream_id) is stream:
            del self._streams[stream_id]

    async def exists(self, stream_id: str) -> bool:
        return stream_id in self._streams

    def is_cursor(self, value: str) -> bool:
        return _CURSOR.fullmatch(value) is not None

    def subscribe(
        self, stream_id: str, after: str | None = None, idle_timeout: float | None = None
    ) -> AsyncIterator[StreamEntry | None]:
        return one_by_one(self.subscribe_batches(stream_id, after, idle_timeout))

    async def subscribe_batches(
        self, stream_id: str, after: str | None = None, idle_timeout: float | None = None
    ) -> AsyncIterator[list[StreamEntry] | None]:
        """`subscribe`, with every entry already there handed over at once (one SSE write)."""
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        position = int(after) + 1 if after is not None and self.is_cursor(after) else 0
        while True:
            end = len(stream.chunks)
            if position < end:
                yield [StreamEntry(str(i), stream.chunks[i]) for i in range(position, end)]
                position = end
                continue
            if stream.ended:
                return
            changed = stream.changed
            try:
                async with asyncio.timeout(idle_timeout):  # no task per wait, unlike wait_for
                    await changed.wait()
            except TimeoutError:
                yield None

    async def request_cancel(self, message_uuid: str) -> None:
        callback = self._callbacks.pop(message_uuid, None)
        if callback is not None:
            callback()
        else:
            self._pending_cancels[message_uuid] = time.monotonic() + self.retention_seconds

    def on_cancel(self, message_uuid: str, callback: CancelCallback) -> Unregister:
        now = time.monotonic()
        self._pending_cancels = {k: v for k, v in self._pending_cancels.items() if v > now}
        if self._pending_cancels.pop(message_uuid, None) is not None:
            asyncio.get_running_loop().call_soon(callback)
            return lambda: None
        self._callbacks[message_uuid] = callback

        def unregister() -> None:
            if self._callbacks.get(message_uuid) is callback:
                del self._callbacks[message_uuid]

        return unregister
