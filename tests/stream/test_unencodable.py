"""A chunk holding a lone surrogate (a tool's output can: JSON allows `"\\ud800"`) is stored by
both brokers and relayed as valid UTF-8, the surrogate JSON-escaped, instead of failing the run's
write (Redis) or cutting the SSE body mid-stream (memory). Unit-level: the input checks keep such
text out of every request, so only a tool's output could bring one."""

from __future__ import annotations

import json

from cargohold.stream.broker import Broker
from cargohold.stream.sse import sse_response

from .test_brokers import brokers  # noqa: F401  (the fixture: memory and Redis)


async def test_relayed_as_escaped_json(brokers: tuple[Broker, Broker]) -> None:  # noqa: F811
    producer, reader = brokers
    chunk = json.dumps({"type": "text-delta", "delta": "a\ud800b"}, ensure_ascii=False)
    await producer.publish("s-unencodable", [chunk, "[DONE]"])
    await producer.end("s-unencodable")
    response = sse_response(reader, "s-unencodable", after=None, keepalive=5)
    body = b"".join([part async for part in response.body_iterator])  # type: ignore[misc]
    text = body.decode("utf-8")  # strict: the body is valid UTF-8
    data = [line[6:] for line in text.split("\n") if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    assert json.loads(data[0]) == {"type": "text-delta", "delta": "a\ud800b"}
