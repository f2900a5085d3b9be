"""Stream brokers: where a run's chunks are kept for replay, and how cancel reaches a run."""

from __future__ import annotations

from .broker import Broker, StreamEntry
from .memory import MemoryBroker

__all__ = ["Broker", "MemoryBroker", "StreamEntry", "make_broker"]


def make_broker(redis_url: str | None, prefix: str, retention_seconds: float) -> Broker:
    if redis_url:
        from .redis import RedisBroker

        return RedisBroker(redis_url, prefix=prefix, retention_seconds=retention_seconds)
    return MemoryBroker(retention_seconds=retention_seconds)
