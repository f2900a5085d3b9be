"""Rate limits shared by every replica: a fixed window per key (`maxRequests` per `intervalMs`),
counted in Redis when it is configured (so two instances share one count), else in this process.
Exhausted: `RateLimited` (429) with the seconds left in the window as `Retry-After`."""

from __future__ import annotations

import math
import time
from typing import Protocol

from ..errors import RateLimited

__all__ = ["MemoryRateLimiter", "RateLimiter", "RedisRateLimiter", "make_rate_limiter"]


class RateLimiter(Protocol):
    async def take(self, key: str, max_requests: int, interval_ms: int) -> None:
        """Count one request; raises RateLimited past `max_requests` in the current window."""
        ...

    async def aclose(self) -> None: ...


def _window(interval_ms: int) -> tuple[int, float]:
    """The current window's number and the seconds left in it."""
    now_ms = time.time() * 1000
    index = int(now_ms // interval_ms)
    return index, ((index + 1) * interval_ms - now_ms) / 1000


def _refuse(key: str, max_requests: int, interval_ms: int, left: float) -> RateLimited:
    what = key.split(":", 1)[-1]
    return RateLimited(
        f"Rate limit of connector {what} reached ({max_requests} per {interval_ms} ms): retry in {left:.1f} s",
        math.ceil(left),
    )


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}

    async def take(self, key: str, max_requests: int, interval_ms: int) -> None:
        index, left = _window(interval_ms)
        window, count = self._counts.get(key, (index, 0))
        if window != index:
            count = 0
        if count >= max_requests:
            raise _refuse(key, max_requests, interval_ms, left)
        self._counts[key] = (index, count + 1)

    async def aclose(self) -> None:
        self._counts.clear()


class RedisRateLimiter:
    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._prefix = prefix

    async def take(self, key: str, max_requests: int, interval_ms: int) -> None:
        index, left = _window(interval_ms)
        name = f"{self._prefix}:ratelimit:{key}:{interval_ms}:{index}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.pexpire(name, interval_ms * 2)
            count, _ = await pipe.execute()
        if int(count) > max_requests:
            raise _refuse(key, max_requests, interval_ms, left)

    async def aclose(self) -> None:
        await self._redis.aclose()


def make_rate_limiter(redis_url: str | None, prefix: str) -> RateLimiter:
    return RedisRateLimiter(redis_url, prefix) if redis_url else MemoryRateLimiter()
