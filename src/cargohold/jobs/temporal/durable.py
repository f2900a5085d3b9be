"""A turn that survives its worker: `DurableTurnRun` is the one `TurnRun` with its model and
toolsets wrapped so that each step is journaled (`journal.StepJournal`) and, when a worker takes
over a turn whose worker died, replayed instead of repeated.

How a takeover looks, for a turn whose worker died during model request `i`:

- the stream is cut back to where request `i` began (`boundary/i`): the dead worker's partial
  step is dropped from the broker's log, and the parts are folded again from what stays, so a
  client that re-attaches replays exactly the stored parts;
- requests before `i` are answered from the journal and their tool calls too, with the stream
  muted (those chunks are already in the log);
- from request `i` on the stream is live again: a journaled response is replayed (its chunks
  were cut), one that was not is requested again; a journaled tool call returns its recorded
  result, others run (at least once: webhooks get an idempotency key);
- the cut-off call's streamed output is counted as usage spent (`lost/<attempt>`)."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter
from pydantic_ai import RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse, ToolReturn
from pydantic_ai.models import CompletedStreamedResponse, Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from pydantic_ai.toolsets import AbstractToolset, ToolsetTool, WrapperToolset
from pydantic_ai.ui.vercel_ai.response_types import BaseChunk
from pydantic_ai.usage import RunUsage
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from ...runtime.credits import usage_record
from ...services.finish import Ending, finish_message
from ...stream.chunks import SdkVersion
from ...stream.publisher import StreamPublisher
from ...stream.redis import RedisBroker
from ..turn_run import TurnRun
from .journal import StepJournal

__all__ = ["DurableTurnRun", "ResumablePublisher", "Steps", "journaled"]

log = logging.getLogger(__name__)
_ALWAYS = frozenset({"finish", "error"})
_OUTPUT_DELTAS = {"text-delta": "delta", "reasoning-delta": "delta", "tool-input-delta": "inputTextDelta"}
_TOOL_RETURN = "cargohold.toolReturn"
_TOOL_RETURNS: TypeAdapter[ToolReturn[Any]] = TypeAdapter(ToolReturn)


def journal_form(result: Any) -> Any:
    """A tool's result as the journal keeps it (JSON). A `ToolReturn` (a result with sources or
    files for the stream, runtime/attachments.py) keeps its shape, so its replay is the same
    `ToolReturn` and not a dict of its fields given to the model as the output."""
    if isinstance(result, ToolReturn):
        return {_TOOL_RETURN: _TOOL_RETURNS.dump_python(result, mode="json")}
    return to_jsonable_python(result)


def replayed(recorded: Any) -> Any:
    """A journaled tool result as the tool returned it (`journal_form` undone)."""
    if isinstance(recorded, dict) and len(recorded) == 1 and _TOOL_RETURN in recorded:
        return _TOOL_RETURNS.validate_python(recorded[_TOOL_RETURN])
    return recorded


class _OwnedBroker:
    """The broker as one attempt of a turn sees it: its writes go through only while the attempt
    owns the stream (a worker taken for dead, but alive, cannot write over its successor)."""

    def __init__(self, broker: RedisBroker, owner: str) -> None:
        self.broker = broker
        self.owner = owner

    async def publish(self, stream_id: str, chunks: Sequence[str]) -> None:
        await self.broker.publish_as(self.owner, stream_id, chunks)

    async def end(self, stream_id: str) -> None:
        if not await self.broker.end_as(self.owner, stream_id):
            log.warning("stream %s: taken over by another attempt; not ended here", stream_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.broker, name)


class ResumablePublisher(StreamPublisher):
    """A publisher that can be muted while a takeover replays steps already in the stream, and
    that writes only while its attempt owns the stream."""

    muted: bool = False

    def __init__(self, broker: RedisBroker, stream_id: str, sdk_version: SdkVersion, owner: str) -> None:
        super().__init__(_OwnedBroker(broker, owner), stream_id, sdk_version)
        self.owner = owner

    async def emit(self, chunk: BaseChunk) -> None:
        if not self.muted:
            await super().emit(chunk)

    async def emit_dict(self, chunk: dict[str, Any]) -> None:
        if not self.muted or chunk.get("type") in _ALWAYS:
            await super().emit_dict(chunk)


@dataclass(slots=True)
class Steps:
    """What the wrapped model and toolsets share: the journal, the stream, where the takeover resumes."""

    journal: StepJournal
    broker: RedisBroker | None
    publisher: ResumablePublisher | None
    """None for a sub-agent's turn: it streams nothing (its boundaries only say a request began)."""
    resume_at: int | None
    requests: int = 0

    async def begin_request(self) -> int:
        index = self.requests
        self.requests += 1
        if self.publisher is None or self.broker is None:
            if index not in self.journal.boundaries and index not in self.journal.responses:
                await self.journal.record_boundary(index, "")
            return index
        if self.resume_at is not None and index >= self.resume_at:
            self.publisher.muted = False
        if not self.publisher.muted and index not in self.journal.boundaries:
            await self.publisher.flush()
            cursor = await self.broker.last_cursor(self.publisher.stream_id)
            if cursor is not None:
                await self.journal.record_boundary(index, cursor)
        return index


class JournaledModel(WrapperModel):
    def __init__(self, wrapped: Model, steps: Steps) -> None:
        super().__init__(wrapped)
        self.steps = steps

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: RunContext[Any] | None = None,
    ) -> AsyncGenerator[StreamedResponse]:
        index = await self.steps.begin_request()
        recorded = self.steps.journal.responses.get(index)
        if recorded is not None:
            params = model_request_parameters
            yield CompletedStreamedResponse(recorded, model_request_parameters=params, replay_events=True)
            return
        if self.steps.publisher is not None:
            self.steps.publisher.muted = False  # a request made for real always streams
        async with self.wrapped.request_stream(
            messages, model_settings, model_request_parameters, run_context
        ) as stream:
            yield stream
        await self.steps.journal.record_response(index, stream.get())

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        """A run that does not stream (a sub-agent's turn): the same journal, nothing to replay."""
        index = await self.steps.begin_request()
        recorded = self.steps.journal.responses.get(index)
        if recorded is not None:
            return recorded
        response = await self.wrapped.request(messages, model_settings, model_request_parameters)
        await self.steps.journal.record_response(index, response)
        return response


@dataclass
class JournaledToolset(WrapperToolset[Any]):
    steps: Steps | None = field(default=None, kw_only=True)

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        assert self.steps is not None
        journal, call_id = self.steps.journal, ctx.tool_call_id
        if call_id and call_id in journal.tools:
            return replayed(journal.tools[call_id])
        result = await self.wrapped.call_tool(name, tool_args, ctx, tool)
        if call_id:
            try:
                recorded = journal_form(result)
            except Exception:  # not JSON: the call runs again on a takeover (at least once)
                log.warning("tool %s returned a value that cannot be journaled", name)
            else:
                await journal.record_tool(call_id, recorded)
        return result


@dataclass(slots=True)
class DurableTurnRun(TurnRun):
    steps: Steps | None = None

    async def _finish(self, publisher: StreamPublisher, ending: Ending) -> bool:
        assert isinstance(publisher, ResumablePublisher) and self.steps is not None and self.steps.broker is not None
        if not await self.steps.broker.owns_stream(publisher.stream_id, publisher.owner):
            log.warning("turn %s: another attempt owns it now: not finished here", self.message_uuid)
            return False
        if activity.in_activity() and activity.is_cancelled():
            # Temporal took the turn away (this worker stopped heartbeating in time, or is shutting
            # down): another attempt carries it on from the journal. Finishing it here would end it.
            log.warning("turn %s handed over by Temporal: not finished here", self.message_uuid)
            return False
        journal = self.steps.journal

        async def fence(session: AsyncSession) -> bool:
            # Checked in the finishing transaction, the message's row locked: a successor that
            # claimed the turn meanwhile wins, and this attempt writes nothing (row or stream).
            return await journal.holds(session, for_update=True)

        return await finish_message(self.deps.sessions, publisher, self.message_uuid, ending, fence=fence)

    async def _holds(self, session: AsyncSession) -> bool:
        return self.steps is None or await self.steps.journal.holds(session)

    def _wrap(self, model: Model, toolsets: list[AbstractToolset[Any]]) -> tuple[Model, list[AbstractToolset[Any]]]:
        assert self.steps is not None
        return journaled(self.steps)(model, toolsets)


def journaled(steps: Steps) -> Callable[[Model, list[AbstractToolset[Any]]], tuple[Model, list[AbstractToolset[Any]]]]:
    """What wraps a run's model and toolsets so that each step is journaled and replayed."""

    def wrap(model: Model, toolsets: list[AbstractToolset[Any]]) -> tuple[Model, list[AbstractToolset[Any]]]:
        return JournaledModel(model, steps), [JournaledToolset(t, steps=steps) for t in toolsets]

    return wrap


async def resume(
    broker: RedisBroker, publisher: ResumablePublisher, journal: StepJournal, attempt: int, slug: str, run: TurnRun
) -> Steps:
    """Set the stream, the parts and the usage of a turn for this attempt: the first one marks
    where the stream began; a takeover cuts the stream back to the last step begun, folds the
    parts from what stays, mutes the replay up to that step and counts the cut-off call's output."""
    stream_id = publisher.stream_id  # (taken by this attempt before its journal was read: run_turn)
    resume_at = journal.resume_at
    if resume_at is None:
        cursor = await broker.last_cursor(stream_id)
        if cursor is not None:
            await journal.record_boundary(-1, cursor)
        return Steps(journal, broker, publisher, None)
    dropped = await broker.drop_after(stream_id, journal.boundaries[resume_at])
    for text in await broker.chunks(stream_id):
        chunk = json.loads(text) if text.startswith("{") else None
        if isinstance(chunk, dict) and isinstance(chunk.get("type"), str):
            publisher.parts.add(chunk)
    if resume_at >= 0 and resume_at not in journal.responses and dropped:
        chars = 0
        for text in dropped:
            chunk = json.loads(text) if text.startswith("{") else {}
            key = _OUTPUT_DELTAS.get(chunk.get("type", ""))
            if key is not None and isinstance(chunk.get(key), str):
                chars += len(chunk[key])
        prices = run.deps.settings.model_prices
        await journal.record_lost(
            attempt, usage_record(RunUsage(requests=1), slug, prices, unreported_output_chars=chars)
        )
    run.sub_usage.extend(journal.lost)
    publisher.muted = resume_at >= 0
    log.warning("turn %s taken over (attempt %d) at model request %d", stream_id, attempt, resume_at)
    return Steps(journal, broker, publisher, resume_at)
