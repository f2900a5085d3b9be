"""OpenTelemetry traces of turns, when an OTLP endpoint is configured (`CARGOHOLD_OTLP_ENDPOINT`, else
the standard `OTEL_EXPORTER_OTLP_ENDPOINT`): pydantic-ai's own instrumentation (`Agent.instrument_all`)
sends a span per agent run with a child per model request and per tool call, over OTLP/HTTP.

Content is left out (`include_content=False`): no prompts, messages, tool arguments or outputs
reach the collector, so nothing a user typed or a tool returned (or a secret either held) leaves
the process this way; spans keep the model, token usage, tool names, timings and errors.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pydantic_ai import Agent

from . import __version__
from .settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

__all__ = ["Tracing", "traces_url"]

_TRACES_PATH = "/v1/traces"


def traces_url(settings: Settings) -> str | None:
    """The OTLP/HTTP traces URL, from the collector's base URL (or the full traces URL)."""
    base = settings.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not base:
        return None
    base = base.rstrip("/")
    return base if base.endswith(_TRACES_PATH) else base + _TRACES_PATH


class Tracing:
    """Started and stopped by the app's lifespan; a no-op when no endpoint is configured."""

    def __init__(self, settings: Settings) -> None:
        self.url = traces_url(settings)
        self.provider: TracerProvider | None = None

    def start(self) -> None:
        if self.url is None:
            return
        # The exporter and SDK (protobuf among them) load only when traces are sent.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from pydantic_ai.models.instrumented import InstrumentationSettings

        service = os.environ.get("OTEL_SERVICE_NAME") or "cargohold"
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service, "service.version": __version__})
        )
        self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=self.url)))
        Agent.instrument_all(
            InstrumentationSettings(tracer_provider=self.provider, include_content=False, include_binary_content=False)
        )

    def stop(self) -> None:
        """Stop instrumenting and send what is still buffered."""
        if self.provider is None:
            return
        Agent.instrument_all(False)
        self.provider.shutdown()
        self.provider = None
