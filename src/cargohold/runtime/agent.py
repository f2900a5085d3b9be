"""One agent turn as pydantic-ai sees it, with no HTTP, no storage and no wire format.

`build_agent(spec)` makes the pydantic-ai `Agent` for a turn; `TurnAgent.events` runs it over
the chat history as plain pydantic-ai events (the stream writer in `stream/` encodes them for
the client), and `TurnAgent.output` runs it to its output (a sub-agent's answer).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import Agent, CancellationToken, RunContext, Tool
from pydantic_ai.capabilities import AbstractCapability, NativeTool
from pydantic_ai.messages import AgentStreamEvent, ModelMessage
from pydantic_ai.models import Model, ModelRequestContext
from pydantic_ai.native_tools import AbstractNativeTool
from pydantic_ai.result import AgentStream
from pydantic_ai.run import AgentRunResultEvent
from pydantic_ai.settings import ModelSettings
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.toolsets import AbstractToolset
from pydantic_ai.usage import RunUsage, UsageLimits

__all__ = ["AgentSpec", "TurnAgent", "TurnEvent", "build_agent"]

TurnEvent = AgentStreamEvent | AgentRunResultEvent[Any]


@dataclass(slots=True)
class AgentSpec:
    model: Model
    history: Sequence[ModelMessage]
    tools: list[Tool[Any]] = field(default_factory=list)
    toolsets: list[AbstractToolset[Any]] = field(default_factory=list)
    builtin_tools: list[AbstractNativeTool] = field(default_factory=list)
    """Tools the model's provider runs (e.g. its web search)."""
    system_prompt: str | None = None
    context_prompt: str | None = None
    temperature: float | None = None
    with_reasoning: bool = False
    max_steps: int = 20
    request_timeout: float = 120.0
    ready: Callable[[], Awaitable[None]] | None = None
    """Awaited before each model request. An in-process run is built, and pydantic-ai's run set
    up, while its message is still being stored; the model is asked only once it is."""


@dataclass(slots=True)
class TurnAgent:
    agent: Agent[None, str]
    spec: AgentSpec
    hit_step_bound: bool = False
    """True when the last allowed step came and the model was given no tools (`max-steps`)."""

    def _run_kwargs(self, usage: RunUsage, token: CancellationToken | None) -> dict[str, Any]:
        spec = self.spec
        settings: ModelSettings = {"timeout": spec.request_timeout}
        if spec.temperature is not None:
            settings["temperature"] = spec.temperature
        if spec.with_reasoning:
            settings["thinking"] = True
        instructions = "\n\n".join(p for p in (spec.system_prompt, spec.context_prompt) if p) or None
        return {
            "message_history": list(spec.history),
            "instructions": instructions,
            "model_settings": settings,
            "usage": usage,
            "usage_limits": UsageLimits(request_limit=spec.max_steps + 1),
            "cancellation_token": token,
        }

    async def events(self, usage: RunUsage, token: CancellationToken) -> AsyncIterator[TurnEvent]:
        """The run's events, ending with its `AgentRunResultEvent`; `usage` is updated in place as
        steps complete, so it is right on every exit. A failure of the run is raised from the
        iterator, a cancel through `token` as `RunCancelled`.

        The run is driven in the caller's task (`Agent.iter` + `node.stream`), not in a background
        task feeding a memory stream as `run_stream_events` does: one task and one task switch per
        event less. So the caller must close this iterator in its own task (`contextlib.aclosing`,
        as `stream.writer.write_turn` does) and never await outside it while the run may be
        cancelled: a cancel through `token` cancels the task that drives the run."""
        async with self.agent.iter(**self._run_kwargs(usage, token)) as run:
            async for node in run:
                if Agent.is_model_request_node(node):
                    response: AgentStream[Any, Any]
                    async with node.stream(run.ctx) as response:
                        async for event in response:
                            yield event
                elif Agent.is_call_tools_node(node):
                    async with node.stream(run.ctx) as calls:
                        async for call_event in calls:
                            yield call_event
        assert run.result is not None, "the agent run ended without a result"
        yield AgentRunResultEvent(run.result)

    async def output(self, usage: RunUsage, token: CancellationToken | None = None) -> str:
        result = await self.agent.run(**self._run_kwargs(usage, token))
        return result.output


@dataclass
class _TurnHooks(AbstractCapability[None]):
    """The turn's own hooks, as one capability (each capability wraps every run and event)."""

    turn: TurnAgent | None = None

    @classmethod
    def get_serialization_name(cls) -> str | None:
        return None

    async def prepare_tools(self, ctx: RunContext[None], tool_defs: list[ToolDefinition]) -> list[ToolDefinition]:
        # On the last allowed step the model gets no tools, so it answers instead of stopping
        # silently on a tool call (deepset-ai/haystack#10001).
        assert self.turn is not None
        if ctx.run_step >= self.turn.spec.max_steps and tool_defs:
            self.turn.hit_step_bound = True
            return []
        return tool_defs

    async def before_model_request(
        self, ctx: RunContext[None], request_context: ModelRequestContext
    ) -> ModelRequestContext:
        assert self.turn is not None
        if self.turn.spec.ready is not None:
            await self.turn.spec.ready()
        return request_context


def build_agent(spec: AgentSpec) -> TurnAgent:
    hooks = _TurnHooks()
    native = [NativeTool(tool) for tool in spec.builtin_tools]
    agent = Agent(spec.model, tools=spec.tools, toolsets=spec.toolsets, capabilities=[hooks, *native])
    hooks.turn = turn = TurnAgent(agent, spec)
    return turn
