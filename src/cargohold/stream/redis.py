"""The Redis broker: chunks in a Redis Stream per message (replayable by any instance, after the
producer is gone), cancel as a key plus a pub/sub notice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Sequence

import redis.asyncio as redis

from .broker import CancelCallback, StreamEntry, Unregister, one_by_one

__all__ = ["RedisBroker", "StreamTaken"]

log = logging.getLogger(__name__)
_OPEN_TTL = 24 * 3600  # an abandoned open stream still expires
_END = "end"
_MAX_READERS = 10_000
_CURSOR = re.compile(r"([0-9]{1,20})-([0-9]{1,20})")
_UINT64 = 2**64
_PUBLISH_AS = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
for i = 3, #ARGV do redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'c', ARGV[i]) end
return 1
"""

_END_AS = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'end', '1')
redis.call('EXPIRE', KEYS[2], ARGV[3])
return 1
"""


class StreamTaken(Exception):
    pass


class RedisBroker:
    def __init__(
        self, url: str, prefix: str = "cargohold", retention_seconds: float = 600.0, max_len: int = 100_000
    ) -> None:
        self.prefix = prefix
        self.retention_seconds = retention_seconds
        self.max_len = max_len
        # Two pools. Commands (publish, end, cancel) are short: a bounded pool that waits for a free
        # connection rather than failing a run's write. Live readers each hold a connection in a
        # blocking XREAD: a pool of their own, sized for many streams, so readers can never take
        # the connections the runs write with (redis-py's default pool fails at 100).
        # `backslashreplace`: a chunk holding a lone surrogate is stored with it JSON-escaped (`\ud800`,
        # it can only sit in a JSON string) instead of failing the run's write.
        codec = {"decode_responses": True, "encoding_errors": "backslashreplace"}
        self._redis = redis.Redis.from_pool(
            redis.BlockingConnectionPool.from_url(url, max_connections=100, timeout=30, **codec)
        )
        self._readers = redis.from_url(url, max_connections=_MAX_READERS, **codec)
        self._callbacks: dict[str, CancelCallback] = {}
        self._listener: asyncio.Task[None] | None = None
        self._ttl_refreshed: dict[str, float] = {}
        # A blocking XREAD must return before the client's socket timeout (redis-py: 5 s unless the
        # URL sets `socket_timeout`), or a stream that is merely quiet reads as a dead Redis.
        options = self._readers.connection_pool.connection_kwargs
        socket_timeout = options.get("socket_timeout") or options.get("orig_socket_timeout") or 5.0
        self._max_block_ms = max(1, int(socket_timeout * 500))

    def _stream_key(self, stream_id: str) -> str:
        return f"{self.prefix}:stream:{stream_id}"

    def _cancel_key(self, message_uuid: str) -> str:
        return f"{self.prefix}:cancel:{message_uuid}"

    @property
    def _channel(self) -> str:
        return f"{self.prefix}:cancel"

    async def start(self) -> None:
        await self._redis.ping()
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self._channel)
        self._listener = asyncio.create_task(self._listen(pubsub), name="redis-cancel-listener")

    async def _listen(self, pubsub: redis.client.PubSub) -> None:
        try:
            while True:
                try:
                    message = await pubsub.get_message(timeout=5.0)
                except (redis.ConnectionError, redis.TimeoutError):
                    log.warning("cancel listener lost Redis; reconnecting")
                    await asyncio.sleep(1)
                    await pubsub.subscribe(self._channel)
                    continue
                if message and message.get("type") == "message":
                    self._fire(str(message["data"]))
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    def _fire(self, message_uuid: str) -> None:
        callback = self._callbacks.pop(message_uuid, None)
        if callback is not None:
            callback()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._readers.aclose()
        await self._redis.aclose()

    async def publish(self, stream_id: str, chunks: Sequence[str]) -> None:
        key = self._stream_key(stream_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for chunk in chunks:
                pipe.xadd(key, {"c": chunk}, maxlen=self.max_len, approximate=True)
            now = time.monotonic()
            if now - self._ttl_refreshed.get(stream_id, 0.0) > 60:
                self._ttl_refreshed[stream_id] = now
                pipe.expire(key, _OPEN_TTL)
            await pipe.execute()

    async def end(self, stream_id: str) -> None:
        key = self._stream_key(stream_id)
        self._ttl_refreshed.pop(stream_id, None)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {_END: "1"}, maxlen=self.max_len, approximate=True)
            pipe.expire(key, max(1, int(self.retention_seconds)))
            await pipe.execute()

    async def exists(self, stream_id: str) -> bool:
        return bool(await self._redis.exists(self._stream_key(stream_id)))

    def is_cursor(self, value: str) -> bool:
        """A Redis stream entry id, `<ms>-<seq>`, both 64-bit (anything else fails XREAD mid-stream)."""
        match = _CURSOR.fullmatch(value)
        return match is not None and all(int(part) < _UINT64 for part in match.groups())

    def subscribe(
        self, stream_id: str, after: str | None = None, idle_timeout: float | None = None
    ) -> AsyncIterator[StreamEntry | None]:
        return one_by_one(self.subscribe_batches(stream_id, after, idle_timeout))

    async def subscribe_batches(
        self, stream_id: str, after: str | None = None, idle_timeout: float | None = None
    ) -> AsyncIterator[list[StreamEntry] | None]:
        """`subscribe`, one XREAD's entries at a time (one SSE write)."""
        key = self._stream_key(stream_id)
        if not await self._readers.exists(key):
            return
        cursor = after or "0-0"
        idle = idle_timeout if idle_timeout is not None else 5.0
        quiet_since = time.monotonic()
        while True:
            # XREAD replays everything after the cursor, then blocks for new entries (in slices
            # shorter than the socket timeout; a keep-alive once the stream was quiet `idle` s).
            wait = idle - (time.monotonic() - quiet_since)
            block_ms = max(1, min(int(wait * 1000), self._max_block_ms))
            result = await self._readers.xread({key: cursor}, count=500, block=block_ms)
            if not result:
                if time.monotonic() - quiet_since >= idle:
                    quiet_since = time.monotonic()
                    if idle_timeout is not None:
                        yield None
                if not await self._readers.exists(key):  # expired or deleted while we waited
                    return
                continue
            quiet_since = time.monotonic()
            batch: list[StreamEntry] = []
            entries: list[tuple[str, dict[str, str]]] = result[0][1]  # type: ignore[index,assignment]
            for entry_id, fields in entries:
                cursor = entry_id
                if _END in fields:
                    if batch:
                        yield batch
                    return
                batch.append(StreamEntry(entry_id, fields["c"]))
            yield batch

    async def last_cursor(self, stream_id: str) -> str | None:
        """The id of the stream's last entry (None when it has none): where a durable turn's step
        began, so a worker that takes the turn over can drop what came after (`drop_after`)."""
        entries = await self._redis.xrevrange(self._stream_key(stream_id), count=1)
        return str(entries[0][0]) if entries else None

    def _owner_key(self, stream_id: str) -> str:
        return f"{self.prefix}:owner:{stream_id}"

    async def take_stream(self, stream_id: str, owner: str) -> None:
        """Make `owner` the only producer `publish_as` lets write to the stream (a durable turn's
        attempt): a worker that was taken for dead but still runs can no longer write to it."""
        await self._redis.set(self._owner_key(stream_id), owner, ex=_OPEN_TTL)

    async def owns_stream(self, stream_id: str, owner: str) -> bool:
        return await self._redis.get(self._owner_key(stream_id)) == owner

    async def publish_as(self, owner: str, stream_id: str, chunks: Sequence[str]) -> None:
        """`publish`, only while `owner` owns the stream (checked and appended atomically);
        raises `StreamTaken` otherwise."""
        written = await self._redis.eval(
            _PUBLISH_AS, 2, self._owner_key(stream_id), self._stream_key(stream_id), owner, self.max_len, *chunks
        )
        if not written:
            raise StreamTaken(f"stream {stream_id} was taken over by another producer")
        await self._redis.expire(self._stream_key(stream_id), _OPEN_TTL)

    async def end_as(self, owner: str, stream_id: str) -> bool:
        """`end`, only while `owner` owns the stream (checked and ended atomically): an attempt
        taken over cannot end its successor's stream. False when it did not own it."""
        self._ttl_refreshed.pop(stream_id, None)
        ttl = max(1, int(self.retention_seconds))
        ended = await self._redis.eval(
            _END_AS, 2, self._owner_key(stream_id), self._stream_key(stream_id), owner, self.max_len, ttl
        )
        return bool(ended)

    async def chunks(self, stream_id: str) -> list[str]:
        """Every chunk the stream holds now, oldest first (`[DONE]` included once written)."""
        entries: list[tuple[str, dict[str, str]]] = await self._redis.xrange(  # type: ignore[assignment]
            self._stream_key(stream_id), min="-", max="+"
        )
        return [fields["c"] for _, fields in entries if "c" in fields]

    async def drop_after(self, stream_id: str, cursor: str) -> list[str]:
        """Delete the chunks after `cursor` (a dead worker's cut-off step) and return them. Readers
        following the stream live keep their place; a reader that re-attaches never sees them."""
        key = self._stream_key(stream_id)
        entries: list[tuple[str, dict[str, str]]] = await self._redis.xrange(  # type: ignore[assignment]
            key, min=f"({cursor}", max="+"
        )
        if entries:
            await self._redis.xdel(key, *(entry_id for entry_id, _ in entries))
        return [fields["c"] for _, fields in entries if "c" in fields]

    async def request_cancel(self, message_uuid: str) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.set(self._cancel_key(message_uuid), "1", ex=max(1, int(self.retention_seconds)))
            pipe.publish(self._channel, message_uuid)
            await pipe.execute()

    def on_cancel(self, message_uuid: str, callback: CancelCallback) -> Unregister:
        self._callbacks[message_uuid] = callback

        async def already_requested() -> None:
            if await self._redis.exists(self._cancel_key(message_uuid)):
                self._fire(message_uuid)

        check = asyncio.get_running_loop().create_task(already_requested())

        def unregister() -> None:
            check.cancel()
            if self._callbacks.get(message_uuid) is callback:
                del self._callbacks[message_uuid]

        return unregister
