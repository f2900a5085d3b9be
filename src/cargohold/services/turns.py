"""Run one stored assistant message to its end: a function of the message's uuid alone, so any
executor (today an in-process task with a lease, later a durable worker) can run it.

pending -> generating -> success | error | cancelled. Whatever happens (success, model error,
cancel, shutdown), `_finish` stores the parts, usage and credits exactly once, then the stream
gets its `finish` and `[DONE]`."""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from contextlib import suppress
from typing import Any

import sqlalchemy as sa
from pydantic_ai import CancellationToken
from pydantic_ai.ui.vercel_ai.response_types import ErrorChunk
from pydantic_ai.usage import RunUsage

from ..db.tables import Chat, Message
from ..db.types import utcnow
from ..runtime.agent import TurnOutcome, TurnSpec, run_turn
from ..runtime.context import ToolSource, TurnContext
from ..runtime.credits import add_usage, usage_record
from ..runtime.history import to_model_messages
from ..runtime.models import ModelChoice
from ..runtime.sources import build_sources
from ..state import AppState
from ..store.messages import UNFINISHED, history_of, lease_until, set_status
from ..stream.publisher import StreamPublisher
from .turn_tools import NO_AGENT, TurnScope, TurnTools, build_turn_tools

__all__ = ["INTERRUPTED", "run_message"]

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: the server running this turn stopped before it finished"
_SDK_FINISH_REASONS = {"stop", "length", "content-filter", "tool-calls", "error", "other"}


async def run_message(state: AppState, message_uuid: uuid.UUID) -> None:
    settings = state.settings
    async with state.sessions() as session, session.begin():
        message = await session.get(Message, message_uuid, with_for_update=True)
        if message is None or message.status != "pending":
            return
        history = [(str(m.uuid), m.type, m.parts) for m in await history_of(session, message)]
        await set_status(session, message, "generating")
        message.lease_expires_at = lease_until(settings.lease_seconds)
        choice = ModelChoice(message.integration_slug or "offline", message.language_model_slug or "offline")
        spec_fields = {
            "system_prompt": message.system_prompt,
            "context_prompt": message.context_prompt,
            "temperature": message.temperature,
            "with_reasoning": bool(message.with_reasoning),
            "max_steps": message.max_steps or settings.default_max_steps,
        }
        actions, mcp_clients = list(message.actions or []), list(message.mcp_clients or [])
        resources, capabilities = list(message.resources or []), list(message.capabilities or [])
        user_text = _last_user_text(history)
        who = (message.user_uuid, message.agent_uuid)
        scope = TurnScope(
            state,
            message.workspace_uuid,
            message.chat_uuid,
            message_uuid,
            state.http,
            chain=(message.agent_uuid or NO_AGENT,),
        )

    publisher = StreamPublisher(state.broker, str(message_uuid), settings.ai_sdk_version)
    usage = RunUsage()
    token = CancellationToken()
    unregister = state.broker.on_cancel(str(message_uuid), token.cancel)
    heartbeat = asyncio.create_task(_heartbeat(state, message_uuid, publisher, usage, choice, token, scope))
    outcome = TurnOutcome("error", error_message=INTERRUPTED, finish_reason="error")
    tools = TurnTools()
    sources = ToolSource()
    try:
        tools = await build_turn_tools(scope, actions, mcp_clients)
        ctx = TurnContext(
            workspace_uuid=scope.workspace_uuid,
            chat_uuid=scope.chat_uuid,
            message_uuid=message_uuid,
            user_uuid=who[0],
            agent_uuid=who[1],
            user_text=user_text,
            settings=settings,
            sessions=state.sessions,
            http=state.http,
            emit=publisher.emit_dict,
        )
        sources = await build_sources(resources, capabilities, ctx)
        tools.evaluated.update(sources.evaluated)
        for error in [*tools.errors, *sources.errors]:
            await publisher.emit_dict({"type": "data-tool-error", "data": error})
        if sources.instructions:
            extra = "\n\n".join(sources.instructions)
            spec_fields["context_prompt"] = "\n\n".join(p for p in (spec_fields["context_prompt"], extra) if p)
        spec = TurnSpec(
            model=state.models.model(choice),
            history=to_model_messages(history),
            tools=[*state.tools.all(), *tools.tools],
            toolsets=[*tools.toolsets, *sources.toolsets],
            request_timeout=settings.model_request_timeout,
            sdk_version=settings.ai_sdk_version,
            **spec_fields,
        )
        outcome = await run_turn(spec, publisher.emit, usage, token)
    except Exception as exc:  # a failure outside the agent loop (history, model setup, tools)
        log.exception("turn %s failed before or outside the agent loop", message_uuid)
        outcome = TurnOutcome("error", error_message=f"{type(exc).__name__}: {exc}", finish_reason="error")
    finally:
        heartbeat.cancel()
        unregister()
        # Shielded: on shutdown the task is cancelled, and the message must still be closed.
        await asyncio.shield(_finish(state, message_uuid, publisher, usage, choice, outcome, scope, tools.evaluated))
        await asyncio.shield(_close(tools))
        await asyncio.shield(sources.aclose())


def _last_user_text(history: list[tuple[str, str, list[dict[str, Any]]]]) -> str:
    for _, kind, parts in reversed(history):
        if kind == "user":
            return "\n".join(p["text"] for p in parts if p.get("type") == "text" and isinstance(p.get("text"), str))
    return ""


async def _close(tools: TurnTools) -> None:
    with suppress(Exception):
        await tools.aclose()


async def _finish(
    state: AppState,
    message_uuid: uuid.UUID,
    publisher: StreamPublisher,
    usage: RunUsage,
    choice: ModelChoice,
    outcome: TurnOutcome,
    scope: TurnScope,
    evaluated_tools: dict[str, dict[str, object]],
) -> None:
    record = _usage(state, usage, choice, publisher, scope, complete=outcome.status == "success")
    if outcome.status == "error" and publisher.parts.error_text is None:
        with suppress(Exception):  # a broker failure must not keep the row from being finished
            await publisher.emit(ErrorChunk(error_text=outcome.error_message or "error"))
    metadata = {"usage": record, "finishReason": outcome.finish_reason}
    try:
        async with state.sessions() as session, session.begin():
            message = await session.get(Message, message_uuid, with_for_update=True)
            if message is not None and message.status in UNFINISHED:
                now = utcnow()
                await set_status(session, message, outcome.status)
                message.error_message = outcome.error_message
                message.parts = publisher.parts.finished_parts()
                message.usage = record
                message.evaluated_tools = evaluated_tools
                message.meta = {**(message.meta or {}), **outcome.meta, "finishReason": outcome.finish_reason}
                message.finished_at = now
                message.lease_expires_at = None
                chat = await session.get(Chat, message.chat_uuid, with_for_update=True)
                if chat is not None:
                    chat.credits_used_count += record["creditsUsedCount"]
                    if chat.active_stream_uuid == message_uuid:
                        chat.active_stream_uuid = None
    finally:
        finish: dict[str, object] = {"type": "finish", "messageMetadata": metadata}
        if outcome.finish_reason in _SDK_FINISH_REASONS:
            finish["finishReason"] = outcome.finish_reason
        elif outcome.finish_reason == "max-steps":
            finish["finishReason"] = "other"
        with suppress(Exception):
            await publisher.emit_dict(finish)
        try:
            await publisher.close()
        except Exception:  # the row is finished; a reader of this stream ends when it expires
            log.exception("stream of %s could not be closed", message_uuid)


def _usage(
    state: AppState,
    usage: RunUsage,
    choice: ModelChoice,
    publisher: StreamPublisher,
    scope: TurnScope,
    *,
    complete: bool,
) -> dict[str, Any]:
    # A model call still streaming (or cut off) has reported no usage: count what it streamed.
    unreported = 0 if complete else publisher.parts.step_chars
    own = usage_record(usage, choice.slug, state.settings.model_prices, unreported_output_chars=unreported)
    return add_usage(own, scope.sub_usage)


async def _heartbeat(
    state: AppState,
    message_uuid: uuid.UUID,
    publisher: StreamPublisher,
    usage: RunUsage,
    choice: ModelChoice,
    token: CancellationToken,
    scope: TurnScope,
) -> None:
    """Renew the lease and save the parts and usage so far: a crash loses at most one interval."""
    interval = state.settings.lease_seconds / 3
    while True:
        await asyncio.sleep(interval)
        try:
            async with state.sessions() as session, session.begin():
                result = await session.execute(
                    sa.update(Message)
                    .where(Message.uuid == message_uuid, Message.status == "generating")
                    .values(
                        lease_expires_at=lease_until(state.settings.lease_seconds),
                        parts=copy.deepcopy(publisher.parts.parts),
                        usage=_usage(state, usage, choice, publisher, scope, complete=False),
                    )
                )
            if result.rowcount == 0:  # reaped meanwhile (this process stalled): stop the run
                token.cancel()
                return
        except Exception:
            log.exception("lease renewal failed for %s", message_uuid)
