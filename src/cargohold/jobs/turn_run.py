"""`TurnRun`: one stored assistant message run to its end. A function of the message's uuid (plus,
in process, what the service that stored it already knows), so any executor can run it.

    load (or take the prepared turn) -> build tools and sources -> build_agent -> events
    -> stream writer (chunks to the broker, folded into parts) -> finish_message

Whatever happens (success, model error, cancel, shutdown), `finish_message` ends the message
exactly once, then the stream gets its `finish` and `[DONE]`. A heartbeat renews the lease and
saves the parts and usage so far, so a crash loses at most one interval.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic_ai import CancellationToken
from pydantic_ai.models import Model
from pydantic_ai.toolsets import AbstractToolset
from pydantic_ai.usage import RunUsage
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from .. import metrics
from ..db.tables import Message
from ..logs import message_uuid_var
from ..runtime.agent import AgentSpec, build_agent
from ..runtime.capabilities.suggested_actions import SuggestionRequest, generate_suggestions
from ..runtime.context import ToolSource, TurnContext
from ..runtime.credits import UsageRecord, add_usage, usage_record
from ..runtime.failures import describe_failure
from ..runtime.history import to_model_messages
from ..runtime.models import ModelChoice
from ..runtime.sources import build_sources
from ..runtime.toolsets.guard import guard_tools
from ..runtime.turn_config import TurnConfig
from ..services.capability_ports import capability_ports
from ..services.finish import INTERRUPTED, Ending, finish_message
from ..services.ports import PreparedTurn, TurnDeps
from ..services.subagents import run_subagent
from ..services.turn_tools import NO_AGENT, AskAgent, TurnScope, TurnTools, build_turn_tools
from ..settings import ModelPrice
from ..store.messages import history_of, lease_until, set_status
from ..stream.broker import Broker
from ..stream.publisher import StreamPublisher
from ..stream.writer import write_turn

__all__ = ["TurnRun", "load_turn"]

log = logging.getLogger(__name__)


async def load_turn(deps: TurnDeps, message_uuid: uuid.UUID) -> PreparedTurn | None:
    """Claim a `pending` message (-> `generating`, with a lease) and read what its run needs.
    None when it is not pending (another worker has it, or it was finished)."""
    async with deps.sessions() as session, session.begin():
        message = await session.get(Message, message_uuid, with_for_update=True)
        if message is None or message.status != "pending":
            return None
        history = [(str(m.uuid), m.type, m.parts) for m in await history_of(session, message)]
        await set_status(session, message, "generating")
        message.lease_expires_at = lease_until(deps.settings.lease_seconds)
        return PreparedTurn(
            message_uuid=message.uuid,
            workspace_uuid=message.workspace_uuid,
            chat_uuid=message.chat_uuid,
            user_uuid=message.user_uuid,
            agent_uuid=message.agent_uuid,
            config=TurnConfig.of_row(message),
            history=history,
        )


def last_user_text(history: list[tuple[str, str, list[dict[str, Any]]]]) -> str:
    for _, kind, parts in reversed(history):
        if kind == "user":
            return "\n".join(p["text"] for p in parts if p.get("type") == "text" and isinstance(p.get("text"), str))
    return ""


@dataclass(slots=True)
class TurnRun:
    deps: TurnDeps
    broker: Broker
    message_uuid: uuid.UUID
    prepared: PreparedTurn | None = None
    usage: RunUsage = field(default_factory=RunUsage)
    token: CancellationToken = field(default_factory=CancellationToken)
    evaluated: dict[str, dict[str, Any]] = field(default_factory=dict)
    sub_usage: list[UsageRecord] = field(default_factory=list)
    publisher: StreamPublisher | None = None
    slug: str = "offline"
    prices: dict[str, ModelPrice] | None = None
    """The price table of the model the turn runs (a connector's own, else the server's)."""
    connector_uuid: uuid.UUID | None = None
    timer: metrics.TurnTimer = field(default_factory=metrics.TurnTimer)
    ask_agent: AskAgent = run_subagent
    """How an agent action runs (a durable executor runs it as a child workflow)."""

    async def run(self) -> None:
        message_uuid_var.set(str(self.message_uuid))  # this task's log lines carry the message
        turn = self.prepared or await load_turn(self.deps, self.message_uuid)
        if turn is None:
            return
        settings = self.deps.settings
        self.slug = turn.config.language_model_slug
        self.publisher = publisher = turn.publisher or StreamPublisher(
            self.broker, str(self.message_uuid), settings.ai_sdk_version
        )
        unregister = self.broker.on_cancel(str(self.message_uuid), self.token.cancel)
        heartbeat = asyncio.create_task(self._heartbeat())
        ending = Ending("error", "error", error_message=INTERRUPTED)
        tools, sources = TurnTools(), ToolSource()
        try:
            if turn.config.reaches_out():  # tools and sources read the database and may emit
                await self._stored()
            tools, sources = await self._tools(turn, publisher)
            ending = await self._run_agent(turn, publisher, tools, sources)
        except Exception as exc:  # a failure outside the agent loop (model setup, tools)
            log.exception("turn %s failed before or outside the agent loop", self.message_uuid)
            ending = Ending("error", "error", error_message=describe_failure(exc))
        finally:
            heartbeat.cancel()
            unregister()
            if not await self._was_stored():  # its message's commit failed: nothing to finish
                await asyncio.shield(_close(tools, sources))
                return  # noqa: B012 - the run was cancelled for this (RunExecutor.submit)
            ending.parts = publisher.parts.parts
            ending.usage = self._usage(complete=ending.status == "success")
            ending.evaluated_tools = self.evaluated
            ending.error_streamed = ending.error_streamed or publisher.parts.error_text is not None
            # Shielded: on shutdown the task is cancelled, and the message must still be finished.
            if await asyncio.shield(self._finish(publisher, ending)):
                self.timer.finished(ending.status, self.slug, ending.usage)
            await asyncio.shield(_close(tools, sources))

    @property
    def _gate(self) -> asyncio.Future[None] | None:
        """`PreparedTurn.stored`: set when this run was submitted before its message's commit."""
        return self.prepared.stored if self.prepared is not None else None

    async def _stored(self) -> None:
        """Wait until the message is stored and its stream opened (`PreparedTurn.stored`): a run
        submitted before the commit reads, writes and asks the model only after it."""
        stored = self._gate
        if stored is not None and (not stored.done() or stored.cancelled()):
            await asyncio.shield(stored)  # raises when the commit failed (this run is cancelled then too)

    async def _was_stored(self) -> bool:
        """At the end of the run: was its message stored? (Waits for the commit if need be.)"""
        stored = self._gate
        if stored is None:
            return True
        if not stored.done():
            with suppress(asyncio.CancelledError):
                await asyncio.shield(stored)
        return stored.done() and not stored.cancelled()

    async def _tools(self, turn: PreparedTurn, publisher: StreamPublisher) -> tuple[TurnTools, ToolSource]:
        scope = TurnScope(
            self.deps,
            turn.workspace_uuid,
            turn.chat_uuid,
            self.message_uuid,
            ask_agent=self.ask_agent,
            chain=(turn.agent_uuid or NO_AGENT,),
            sub_usage=self.sub_usage,
        )
        tools = await build_turn_tools(scope, turn.config.actions, turn.config.mcp_clients)
        try:
            ctx = TurnContext(
                workspace_uuid=turn.workspace_uuid,
                chat_uuid=turn.chat_uuid,
                message_uuid=self.message_uuid,
                user_uuid=turn.user_uuid,
                agent_uuid=turn.agent_uuid,
                user_text=last_user_text(turn.history),
                settings=self.deps.settings,
                sessions=self.deps.sessions,
                http=self.deps.http,
                emit=publisher.emit_dict,
                ports=capability_ports(self.deps, turn),
            )
            sources = await build_sources(turn.config.resources, turn.config.capabilities, ctx)
        except BaseException:
            await tools.aclose()
            raise
        self.evaluated = {**tools.evaluated, **sources.evaluated}
        for error in [*tools.errors, *sources.errors]:
            await publisher.emit_dict({"type": "data-tool-error", "data": error})
        return tools, sources

    async def _run_agent(
        self, turn: PreparedTurn, publisher: StreamPublisher, tools: TurnTools, sources: ToolSource
    ) -> Ending:
        settings, config = self.deps.settings, turn.config
        # Connectors (issue 10): the model runs on the turn's connector's credentials, if it has one.
        self.connector_uuid = config.connector_uuid
        choice = ModelChoice(config.integration_slug, config.language_model_slug, config.connector_uuid)
        resolved = await self.deps.models.resolve(turn.workspace_uuid, choice)
        self.prices = resolved.prices
        context = "\n\n".join(p for p in (config.context_prompt, *sources.instructions) if p) or None
        model, toolsets = self._wrap(
            resolved.model,
            guard_tools(
                self.deps.tools,
                [*tools.toolsets, *sources.toolsets],
                max_output_bytes=settings.max_tool_output_bytes,
                builtin_timeout=settings.builtin_tool_timeout,
            ),
        )
        agent = build_agent(
            AgentSpec(
                model=model,
                history=to_model_messages(
                    turn.history, images=resolved.model.profile.get("supports_image_input", True)
                ),
                toolsets=toolsets,
                builtin_tools=sources.builtin_tools,
                system_prompt=config.system_prompt,
                context_prompt=context,
                temperature=config.temperature,
                with_reasoning=config.with_reasoning,
                max_steps=config.max_steps or settings.default_max_steps,
                request_timeout=settings.model_request_timeout,
                ready=self._stored,
            )
        )
        result = await write_turn(self.timer.first_event(agent.events(self.usage, self.token), self.slug), publisher)
        meta: dict[str, Any] = {"steps": self.usage.requests}
        if result.cancelled:
            return Ending("cancelled", "cancelled", meta=meta)
        if result.error is not None:
            return Ending("error", "error", error_message=describe_failure(result.error), meta=meta)
        reason = "max-steps" if agent.hit_step_bound else (result.finish_reason or "stop")
        ending = Ending("success", reason, meta=meta)
        ending.suggested_actions = await self._follow_ups(turn, publisher, agent.spec.model)
        return ending

    async def _follow_ups(
        self, turn: PreparedTurn, publisher: StreamPublisher, model: Model
    ) -> list[dict[str, Any]] | None:
        """issue 14: a release's static suggested actions as they are; else, with the `suggestedActions`
        capability, 1 to 5 follow-ups made after the answer (a failure there costs only the follow-ups)."""
        config = turn.config
        if config.suggested_actions:
            return list(config.suggested_actions)
        if not any(c.get("slug") == "suggestedActions" for c in config.capabilities):
            return None
        answer = "\n".join(p["text"] for p in publisher.parts.parts if p.get("type") == "text" and p.get("text"))
        request = SuggestionRequest(
            question=last_user_text(turn.history),
            answer=answer,
            system_prompt=config.system_prompt,
            context_prompt=config.context_prompt,
            actions=[a for a in config.actions if a.get("slug") in self.evaluated],
        )
        try:
            return await generate_suggestions(
                model, request, usage=self.usage, request_timeout=self.deps.settings.model_request_timeout
            )
        except Exception:
            log.warning("turn %s: no suggested actions (the follow-up call failed)", self.message_uuid, exc_info=True)
            return None

    async def _finish(self, publisher: StreamPublisher, ending: Ending) -> bool:
        """Finish the message (True when this call did); a durable run that is handed to another
        worker does not."""
        return await finish_message(self.deps.sessions, publisher, self.message_uuid, ending)

    async def _holds(self, session: AsyncSession) -> bool:
        """In the heartbeat's transaction: is this run still the one running the turn? (A durable
        run taken over by another attempt is not; in process a run always is.)"""
        return True

    def _wrap(self, model: Model, toolsets: list[AbstractToolset[Any]]) -> tuple[Model, list[AbstractToolset[Any]]]:
        """The model and toolsets the agent runs with; a durable executor (jobs/temporal) wraps
        them to journal each step and replay the steps a dead worker completed."""
        return model, toolsets

    def _usage(self, *, complete: bool) -> UsageRecord:
        # A model call still streaming (or cut off) has reported no usage: count what it streamed.
        assert self.publisher is not None
        unreported = 0 if complete else self.publisher.parts.step_chars
        own = usage_record(
            self.usage,
            self.slug,
            self.prices or self.deps.settings.model_prices,
            unreported_output_chars=unreported,
            connector_uuid=self.connector_uuid,
        )
        return add_usage(own, self.sub_usage)

    async def _heartbeat(self) -> None:
        """Renew the lease and save the parts and usage so far: a crash loses at most one interval."""
        settings = self.deps.settings
        assert self.publisher is not None
        await self._stored()
        while True:
            await asyncio.sleep(settings.lease_seconds / 3)
            try:
                async with self.deps.sessions() as session, session.begin():
                    if not await self._holds(session):  # another attempt runs the turn now: stop this one
                        self.token.cancel()
                        return
                    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
                        sa.update(Message)
                        .where(Message.uuid == self.message_uuid, Message.status == "generating")
                        .values(
                            lease_expires_at=lease_until(settings.lease_seconds),
                            parts=copy.deepcopy(self.publisher.parts.parts),
                            usage=self._usage(complete=False).wire(),
                            evaluated_tools=self.evaluated,
                        )
                    )
                if result.rowcount == 0:  # reaped meanwhile (this process stalled): stop the run
                    self.token.cancel()
                    return
            except Exception:
                log.exception("lease renewal failed for %s", self.message_uuid)


async def _close(tools: TurnTools, sources: ToolSource) -> None:
    with suppress(Exception):
        await tools.aclose()
    with suppress(Exception):
        await sources.aclose()
