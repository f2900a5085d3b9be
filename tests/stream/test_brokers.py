"""Both brokers against the same contract (stream/broker.py). Unit-level: cursors, idle ticks and
cancel delivered before registration are hard to force through HTTP at the right instant."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from cargohold.stream import MemoryBroker
from cargohold.stream.broker import Broker, StreamEntry

REDIS_URL = os.environ.get("CARGOHOLD_TEST_REDIS_URL")


async def _redis(prefix: str) -> Broker:
    from cargohold.stream.redis import RedisBroker

    assert REDIS_URL
    broker = RedisBroker(REDIS_URL, prefix=prefix, retention_seconds=30)
    await broker.start()
    return broker


@pytest.fixture(params=["memory", "redis"])
async def brokers(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Broker, Broker]]:
    """Two handles on one broker: the same object in memory, two instances (two "servers") on Redis."""
    if request.param == "memory":
        broker = MemoryBroker(retention_seconds=30)
        yield broker, broker
        return
    if not REDIS_URL:
        pytest.skip("CARGOHOLD_TEST_REDIS_URL is not set")
    prefix = f"cargohold-test-{uuid.uuid4().hex[:12]}"
    a, b = await _redis(prefix), await _redis(prefix)
    yield a, b
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    keys = [k async for k in client.scan_iter(f"{prefix}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()
    await a.close()
    await b.close()


async def collect(broker: Broker, stream_id: str, after: str | None = None) -> list[StreamEntry]:
    return [e async for e in broker.subscribe(stream_id, after=after) if e is not None]


class TestStreams:
    async def test_replay_after_end_and_cursor(self, brokers: tuple[Broker, Broker]) -> None:
        producer, reader = brokers
        await producer.publish("s1", ["a", "b"])
        await producer.publish("s1", ["c"])
        await producer.end("s1")
        entries = await collect(reader, "s1")
        assert [e.chunk for e in entries] == ["a", "b", "c"]
        assert [e.chunk for e in await collect(reader, "s1", after=entries[0].id)] == ["b", "c"]
        assert await collect(reader, "s1", after=entries[-1].id) == []
        assert await reader.exists("s1") and not await reader.exists("nope")
        assert await collect(reader, "nope") == []

    async def test_live_readers_follow_until_end(self, brokers: tuple[Broker, Broker]) -> None:
        producer, reader = brokers
        await producer.publish("s2", ["start"])
        first_seen = asyncio.Event()

        async def follow() -> list[str]:
            out = []
            async for entry in reader.subscribe("s2", idle_timeout=0.05):
                if entry is not None:
                    out.append(entry.chunk)
                    first_seen.set()
            return out

        readers = [asyncio.create_task(follow()) for _ in range(2)]
        await asyncio.wait_for(first_seen.wait(), 5)
        for chunk in ("x", "y", "z"):
            await producer.publish("s2", [chunk])
        await producer.end("s2")
        results = await asyncio.wait_for(asyncio.gather(*readers), 5)
        assert results == [["start", "x", "y", "z"]] * 2

    async def test_idle_reader_gets_ticks(self, brokers: tuple[Broker, Broker]) -> None:
        producer, reader = brokers
        await producer.publish("s3", ["only"])
        stream = reader.subscribe("s3", idle_timeout=0.02)
        assert (await anext(stream)).chunk == "only"  # type: ignore[union-attr]
        assert await asyncio.wait_for(anext(stream), 5) is None
        await producer.end("s3")
        assert [e async for e in stream if e is not None] == []


class TestCancel:
    async def test_cancel_reaches_the_registered_run(self, brokers: tuple[Broker, Broker]) -> None:
        runner, other = brokers
        fired = asyncio.Event()
        unregister = runner.on_cancel("m1", fired.set)
        await other.request_cancel("m1")
        await asyncio.wait_for(fired.wait(), 5)
        unregister()

    async def test_cancel_before_registration_is_kept(self, brokers: tuple[Broker, Broker]) -> None:
        runner, other = brokers
        await other.request_cancel("m2")
        fired = asyncio.Event()
        runner.on_cancel("m2", fired.set)
        await asyncio.wait_for(fired.wait(), 5)

    async def test_unregistered_callback_is_not_called(self, brokers: tuple[Broker, Broker]) -> None:
        runner, other = brokers
        calls: list[str] = []
        unregister = runner.on_cancel("m3", lambda: calls.append("m3"))
        unregister()
        fired = asyncio.Event()
        runner.on_cancel("m4", fired.set)
        await other.request_cancel("m3")
        await other.request_cancel("m4")
        await asyncio.wait_for(fired.wait(), 5)  # m4's notice arrived, so m3's would have too
        assert calls == []
