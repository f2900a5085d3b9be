"""One agent turn, with no HTTP and no storage: the effective config in, UI chunks out.

`run_turn` builds a pydantic-ai Agent from the turn's config, runs it over the chat history and
hands every UI message stream chunk (pydantic-ai's Vercel encoder, `CargoEventStream`) to `emit`.
The caller owns persistence and the broker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic_ai import Agent, CancellationToken, RunContext, Tool
from pydantic_ai.capabilities import PrepareTools
from pydantic_ai.exceptions import ModelConnectionError, ModelRequestTimeout, ModelTimeoutError, RunCancelled
from pydantic_ai.messages import ModelMessage
from pydantic_ai.models import Model
from pydantic_ai.run import AgentRunResultEvent
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.toolsets import AbstractToolset
from pydantic_ai.ui.vercel_ai._event_stream import VercelAIEventStream
from pydantic_ai.ui.vercel_ai.response_types import BaseChunk, ErrorChunk, FinishStepChunk, MessageMetadataChunk
from pydantic_ai.usage import RunUsage, UsageLimits

__all__ = ["CargoEventStream", "TurnOutcome", "TurnSpec", "run_turn"]

Emit = Callable[[BaseChunk], Awaitable[None]]


@dataclass(slots=True)
class TurnSpec:
    model: Model
    history: Sequence[ModelMessage]
    tools: list[Tool]
    toolsets: list[AbstractToolset[Any]] = field(default_factory=list)
    system_prompt: str | None = None
    context_prompt: str | None = None
    temperature: float | None = None
    with_reasoning: bool = False
    max_steps: int = 20
    request_timeout: float = 120.0
    sdk_version: Literal[5, 6, 7] = 5


@dataclass(slots=True)
class TurnOutcome:
    status: Literal["success", "error", "cancelled"]
    error_message: str | None = None
    finish_reason: str | None = None
    """`stop`, `tool-calls`, `length`, ..., or `max-steps` when the step bound cut the tool loop."""
    meta: dict[str, Any] = field(default_factory=dict)


class CargoEventStream(VercelAIEventStream[Any, Any]):
    """pydantic-ai's Vercel encoder, minus what cargohold writes itself: `start` (written when the
    message is stored), `finish`/`[DONE]` (written after the message is finished, with Cargo's
    usage as `messageMetadata`), and pydantic-ai's timestamp metadata chunk."""

    error: Exception | None = None

    async def before_stream(self) -> AsyncIterator[BaseChunk]:
        return
        yield

    async def handle_run_result(self, event: AgentRunResultEvent[Any]) -> AsyncIterator[BaseChunk]:
        async for chunk in super().handle_run_result(event):
            if not isinstance(chunk, MessageMetadataChunk):
                yield chunk

    async def on_error(self, error: Exception) -> AsyncIterator[BaseChunk]:
        self.error = error
        async for chunk in super().on_error(error):
            # The stream's error says what the stored errorMessage says.
            yield ErrorChunk(error_text=_error_text(error)) if isinstance(chunk, ErrorChunk) else chunk

    async def after_stream(self) -> AsyncIterator[BaseChunk]:
        if self._step_started:
            yield FinishStepChunk()

    @property
    def finish_reason(self) -> str | None:
        return self._finish_reason


def _instructions(spec: TurnSpec) -> str | None:
    parts = [p for p in (spec.system_prompt, spec.context_prompt) if p]
    return "\n\n".join(parts) or None


async def run_turn(spec: TurnSpec, emit: Emit, usage: RunUsage, token: CancellationToken) -> TurnOutcome:
    """Run the turn; `usage` is updated in place as steps complete, so it is right on every exit."""
    hit_bound = False

    async def bound_steps(ctx: RunContext[None], defs: list[ToolDefinition]) -> list[ToolDefinition]:
        # On the last allowed step the model gets no tools, so it answers instead of stopping
        # silently on a tool call (deepset-ai/haystack#10001).
        nonlocal hit_bound
        if ctx.run_step >= spec.max_steps and defs:
            hit_bound = True
            return []
        return defs

    settings: ModelSettings = {"timeout": spec.request_timeout}
    if spec.temperature is not None:
        settings["temperature"] = spec.temperature
    if spec.with_reasoning:
        settings["thinking"] = True
    agent = Agent(spec.model, tools=spec.tools, toolsets=spec.toolsets, capabilities=[PrepareTools(bound_steps)])

    async def events() -> AsyncIterator[Any]:
        async with agent.run_stream_events(
            message_history=list(spec.history),
            instructions=_instructions(spec),
            model_settings=settings,
            usage=usage,
            usage_limits=UsageLimits(request_limit=spec.max_steps + 1),
            cancellation_token=token,
        ) as stream:
            async for event in stream:
                yield event

    encoder = CargoEventStream(None, sdk_version=spec.sdk_version)
    async for chunk in encoder.transform_stream(events()):
        await emit(chunk)

    meta: dict[str, Any] = {"steps": usage.requests}
    if encoder.cancelled is not None or isinstance(encoder.error, RunCancelled):
        return TurnOutcome("cancelled", finish_reason="cancelled", meta=meta)
    if encoder.error is not None:
        return TurnOutcome("error", error_message=_error_text(encoder.error), finish_reason="error", meta=meta)
    reason = "max-steps" if hit_bound else (encoder.finish_reason or "stop")
    return TurnOutcome("success", finish_reason=reason, meta=meta)


def _error_text(error: Exception) -> str:
    """What went wrong, for a person. A provider SDK may say no more than `ReadTimeout` (Anthropic,
    mid-stream) or `Connection error.` (OpenAI), so the kind of failure is named first."""
    text = str(error) or type(error).__name__
    if isinstance(error, ModelTimeoutError | ModelRequestTimeout):
        text = f"The model timed out (CARGOHOLD_MODEL_REQUEST_TIMEOUT): {text}"
    elif isinstance(error, ModelConnectionError):
        text = f"The connection to the model was lost: {text}"
    return text if len(text) <= 2000 else text[:2000] + "..."
