"""The one stream writer of a turn: pydantic-ai events in, UI message stream chunks out.

`TurnEncoder` is pydantic-ai's public Vercel AI encoder (`VercelAIEventStream`) with cargohold's
framing: no `start` (written when the message is stored), no `finish`/`[DONE]` (written by
`services.finish.finish_message` after the row is finished, with Cargo's usage as metadata), no
timestamp metadata chunk; errors say one sentence (`runtime.failures`); a tool call cut off by a
cancel ends as an error, not as an output. `write_turn` hands each chunk to the publisher, which
trims it to the client's AI SDK version, folds it into the stored parts and appends it to the
broker.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

from pydantic_ai.messages import FunctionToolResultEvent
from pydantic_ai.run import AgentRunResultEvent
from pydantic_ai.ui.vercel_ai import VercelAIEventStream
from pydantic_ai.ui.vercel_ai.response_types import (
    BaseChunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    FinishStepChunk,
    MessageMetadataChunk,
    SourceDocumentChunk,
    SourceUrlChunk,
    StartStepChunk,
    ToolOutputErrorChunk,
)

from ..runtime.agent import TurnEvent
from ..runtime.attachments import attachments_of
from ..runtime.capabilities.ui_parts import data_parts_of
from ..runtime.failures import describe_failure
from .publisher import StreamPublisher

__all__ = ["CANCELLED_TOOL_CALL", "TurnEncoder", "WriteResult", "write_turn"]

CANCELLED_TOOL_CALL = "The tool call was cancelled before it returned a result."
_FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "content_filter": "content-filter",
    "tool_call": "tool-calls",
    "error": "error",
}


@dataclass(slots=True)
class WriteResult:
    finish_reason: str | None
    """The last model response's finish reason, in the AI SDK's words."""
    error: Exception | None
    cancelled: bool


class TurnEncoder(VercelAIEventStream[Any, Any]):
    step_open: bool = False
    last_finish_reason: str | None = None
    error: Exception | None = None

    async def before_stream(self) -> AsyncIterator[BaseChunk]:
        return
        yield

    async def before_response(self) -> AsyncIterator[BaseChunk]:
        if self.step_open:
            yield FinishStepChunk()
        self.step_open = True
        yield StartStepChunk()

    async def after_stream(self) -> AsyncIterator[BaseChunk]:
        if self.step_open:
            self.step_open = False
            yield FinishStepChunk()

    async def handle_run_result(self, event: AgentRunResultEvent[Any]) -> AsyncIterator[BaseChunk]:
        reason = event.result.response.finish_reason
        if reason:
            self.last_finish_reason = _FINISH_REASONS.get(reason, "other")
        async for chunk in super().handle_run_result(event):
            if not isinstance(chunk, MessageMetadataChunk):
                yield chunk

    async def handle_function_tool_result(self, event: FunctionToolResultEvent) -> AsyncIterator[BaseChunk]:
        if getattr(event.part, "outcome", None) == "interrupted":
            yield ToolOutputErrorChunk(tool_call_id=event.part.tool_call_id, error_text=CANCELLED_TOOL_CALL)
            return
        # --- issue 14: `data-*` parts a tool returned (runtime/capabilities/ui_parts), before its output ---
        for part in data_parts_of(getattr(event.part, "metadata", None)):
            yield DataChunk(
                type=part["type"], id=part.get("id"), data=part.get("data"), transient=part.get("transient")
            )
        # --- end data parts ---
        async for chunk in super().handle_function_tool_result(event):
            yield chunk
        for chunk in _attachment_chunks(event.part.tool_call_id, event.part.metadata):
            yield chunk

    async def on_error(self, error: Exception) -> AsyncIterator[BaseChunk]:
        self.error = error
        async for chunk in super().on_error(error):
            yield ErrorChunk(error_text=describe_failure(error)) if isinstance(chunk, ErrorChunk) else chunk


def _attachment_chunks(tool_call_id: str, metadata: Any) -> list[BaseChunk]:
    """A tool result's sources and files (`runtime/attachments`) as `source-url`, `source-document`
    and `file` chunks, after the tool's output."""
    found = attachments_of(metadata)
    if found is None:
        return []
    chunks: list[BaseChunk] = []
    for n, source in enumerate(found["sources"], 1):
        source_id = source.get("sourceId") or f"{tool_call_id}-{n}"
        if source.get("kind") == "document":
            title = source.get("title") or source.get("filename") or "document"
            media_type = source.get("mediaType") or "application/octet-stream"
            filename = source.get("filename")
            chunks.append(
                SourceDocumentChunk(source_id=source_id, media_type=media_type, title=title, filename=filename)
            )
        elif url := source.get("url"):
            chunks.append(SourceUrlChunk(source_id=source_id, url=url, title=source.get("title")))
    chunks.extend(FileChunk(url=file["url"], media_type=file["mediaType"]) for file in found["files"])
    return chunks


async def write_turn(events: AsyncIterator[TurnEvent], publisher: StreamPublisher) -> WriteResult:
    encoder = TurnEncoder(None, sdk_version=publisher.sdk_version)
    # Closed here, in the run's task, whatever happens: the events may drive the agent run itself
    # (`runtime.agent.TurnAgent.events`), whose teardown must run in the task that started it.
    chunks = cast(AsyncGenerator[BaseChunk, None], encoder.transform_stream(events))  # an async generator
    async with aclosing(chunks):
        async for chunk in chunks:
            await publisher.emit(chunk)
    return WriteResult(encoder.last_finish_reason, encoder.error, encoder.cancelled is not None)
