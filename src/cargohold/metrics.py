"""Prometheus metrics, served at `GET /metrics` (api/ops.py) from one registry of this process.

    cargohold_http_requests_total{method,route,status}   requests by route template (not raw path)
    cargohold_http_request_duration_seconds{method,route}  until the response body ends
    cargohold_open_streams                                 SSE responses open right now
    cargohold_turns_total{status}                          turns finished: success, error, cancelled
    cargohold_turn_duration_seconds{status}                from the run's start to its finish
    cargohold_turn_first_chunk_seconds{model}              from the run's start to the model's first event
    cargohold_tokens_total{model,kind}                     input / output tokens of finished turns
    cargohold_credits_total{model}                         credits of finished turns
    cargohold_broker_lag_seconds                           from a chunk's emission to its batch being in the broker
    cargohold_turns_reaped_total                           turns the lease reaper ended (their process died)

Labels hold only route templates, statuses and model slugs: nothing of a workspace, chat or user.
The turn path calls `TurnTimer` (jobs/turn_run.py); HTTP is counted by `MetricsMiddleware`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .runtime.credits import UsageRecord

__all__ = ["CONTENT_TYPE_LATEST", "REGISTRY", "MetricsMiddleware", "TurnTimer", "exposition"]

T = TypeVar("T")

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
GCCollector(registry=REGISTRY)

_UNMATCHED = "<unmatched>"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_TURN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
_FIRST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
_LAG_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

HTTP_REQUESTS = Counter(
    "cargohold_http_requests", "HTTP requests answered, by route template and status.",
    ["method", "route", "status"], registry=REGISTRY,
)  # fmt: skip
HTTP_DURATION = Histogram(
    "cargohold_http_request_duration_seconds", "Time until the response body ended (streams: their whole life).",
    ["method", "route"], registry=REGISTRY,
)  # fmt: skip
OPEN_STREAMS = Gauge("cargohold_open_streams", "Server-Sent Event responses open now.", registry=REGISTRY)
TURNS = Counter("cargohold_turns", "Turns finished, by final status.", ["status"], registry=REGISTRY)
TURN_DURATION = Histogram(
    "cargohold_turn_duration_seconds", "Turn duration, from the run's start to its finish.",
    ["status"], buckets=_TURN_BUCKETS, registry=REGISTRY,
)  # fmt: skip
FIRST_CHUNK = Histogram(
    "cargohold_turn_first_chunk_seconds", "Time from a run's start to the model's first streamed event.",
    ["model"], buckets=_FIRST_BUCKETS, registry=REGISTRY,
)  # fmt: skip
TOKENS = Counter("cargohold_tokens", "Tokens of finished turns.", ["model", "kind"], registry=REGISTRY)
CREDITS = Counter("cargohold_credits", "Credits of finished turns.", ["model"], registry=REGISTRY)
BROKER_LAG = Histogram(
    "cargohold_broker_lag_seconds",
    "How far the broker lags the model: from the oldest chunk of a batch being emitted to the batch being appended.",
    buckets=_LAG_BUCKETS, registry=REGISTRY,
)  # fmt: skip
TURNS_REAPED = Counter(
    "cargohold_turns_reaped", "Turns ended by the lease reaper because the process running them stopped.",
    registry=REGISTRY,
)  # fmt: skip


def exposition() -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest(REGISTRY)


class TurnTimer:
    """One turn's clock: started when the run starts, read at its first model event and its end."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    async def first_event(self, events: AsyncIterator[T], model: str) -> AsyncIterator[T]:
        """`events` unchanged; the first one's arrival is observed as the time to first chunk."""
        first = True
        try:
            async for event in events:
                if first:
                    first = False
                    FIRST_CHUNK.labels(model).observe(time.monotonic() - self.started)
                yield event
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    def finished(self, status: str, model: str, usage: UsageRecord) -> None:
        """Count a finished turn: its status, duration, tokens and credits (from its `usage` record)."""
        TURNS.labels(status).inc()
        TURN_DURATION.labels(status).observe(time.monotonic() - self.started)
        model = usage.language_model_slug or model
        TOKENS.labels(model, "input").inc(max(0, usage.input_tokens_count))
        TOKENS.labels(model, "output").inc(max(0, usage.output_tokens_count))
        CREDITS.labels(model).inc(max(0.0, usage.credits_used_count))


class MetricsMiddleware:
    """Counts each HTTP request by method, route template and status; tracks open SSE responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before the response started is answered 500 by Starlette
        streaming = False

        async def send_counted(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = dict(message.get("headers") or []).get(b"content-type", b"")
                if content_type.startswith(b"text/event-stream"):
                    streaming = True
                    OPEN_STREAMS.inc()
            await send(message)

        try:
            await self.app(scope, receive, send_counted)
        finally:
            if streaming:
                OPEN_STREAMS.dec()
            route = scope.get("route")
            template = getattr(route, "path", None) or _UNMATCHED
            method = scope.get("method", "GET") if scope.get("method") in _METHODS else "other"
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_DURATION.labels(method, template).observe(time.perf_counter() - started)
