"""The broker interface: where a run's encoded chunks live, and how cancel reaches a run.

A *stream* is the ordered list of encoded UI-message-stream chunks of one assistant message
(its id is the assistant message's uuid). The producer (the run, on whichever instance holds it)
appends chunks and finally ends the stream; any number of readers, on any instance, replay it
from the start (or from after a cursor) and then follow it live until it ends. The replay buffer
lives in the broker, never only in the producing process, so a reader can attach after that
process is gone.

Cancel is a signal keyed by message uuid: `request_cancel` on any instance reaches the callback
that the instance running the message registered with `on_cancel`, and a cancel requested just
before the run registers is still delivered (it is remembered for a while).

Two implementations: `MemoryBroker` (one process, the embedded default) and `RedisBroker`
(Redis Streams for chunks, pub/sub for cancel), selected by `CARGOHOLD_REDIS_URL`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Broker", "CancelCallback", "StreamEntry", "Unregister", "one_by_one"]


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One chunk of a stream with its cursor; readers resume *after* a cursor."""

    id: str
    chunk: str


CancelCallback = Callable[[], None]
Unregister = Callable[[], None]


class Broker(Protocol):
    async def start(self) -> None:
        """Open connections and background listeners. Called once by the app's lifespan."""

    async def close(self) -> None:
        """Stop listeners and close connections. Idempotent."""

    async def publish(self, stream_id: str, chunks: Sequence[str]) -> None:
        """Append chunks (already-encoded JSON strings, or the literal `[DONE]`) in order."""

    async def end(self, stream_id: str) -> None:
        """Mark the stream finished: live readers stop after the last chunk. The stream stays
        readable for the retention period, then disappears. Ending twice is harmless."""

    async def exists(self, stream_id: str) -> bool:
        """True while the stream is readable (open, or ended but still retained)."""

    def is_cursor(self, value: str) -> bool:
        """True when `value` has the form of an entry id this broker hands out (a `Last-Event-ID`)."""
        ...

    def subscribe(
        self, stream_id: str, after: str | None = None, idle_timeout: float | None = None
    ) -> AsyncIterator[StreamEntry | None]:
        """Replay every entry after `after` (all when None), then follow live until the stream
        ends. Yields `None` whenever `idle_timeout` seconds pass with no entry, so the caller can
        write a keep-alive. A stream that does not exist ends at once (yields nothing)."""
        ...

    def subscribe_batches(
        self, stream_id: str, after: str | None = None, idle_timeout: float | None = None
    ) -> AsyncIterator[list[StreamEntry] | None]:
        """`subscribe`, with the entries that are there at once handed over together (one SSE write)."""
        ...

    async def request_cancel(self, message_uuid: str) -> None:
        """Ask whichever instance runs `message_uuid` to stop it."""

    def on_cancel(self, message_uuid: str, callback: CancelCallback) -> Unregister:
        """Register the running instance's callback for `message_uuid`; the callback runs on the
        event loop (at most once) when a cancel is requested, including one requested shortly
        before registration. Returns a function that unregisters it."""
        ...


async def one_by_one(batches: AsyncIterator[list[StreamEntry] | None]) -> AsyncIterator[StreamEntry | None]:
    """`subscribe` from `subscribe_batches`: each batch's entries one at a time, `None` kept."""
    async for batch in batches:
        if batch is None:
            yield None
        else:
            for entry in batch:
                yield entry
