"""The activities of a `waitUntilFinished: false` tool run on Temporal (`ToolRunWorkflow`): read
the call from `tool_runs`, bind its action again as the turn (or the sub-agent) that made it had
it, run it once, record the result. A worker that dies mid-run is replaced by another that runs
the call again (at least once: a webhook gets the same idempotency key, message uuid + tool call
id). An agent action run this way is a child workflow of the tool run's workflow."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.usage import RunUsage
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.client import Client

from ...db.tables import Message, ToolRun
from ...runtime.credits import UsageRecord
from ...runtime.toolsets.actions import failure_text
from ...runtime.turn_config import TurnConfig
from ...services.ports import TurnDeps
from ...services.turn_tools import TurnScope, build_turn_tools
from ...store.releases import release_of_status
from ..tool_runs import INTERRUPTED, record_tool_run
from .children import Subagents, beat, durable_deps
from .journal import StepJournal
from .workflows import FAIL_TOOL_RUN, RUN_TOOL_RUN, ToolRunInput

__all__ = ["ToolRunActivities"]

log = logging.getLogger(__name__)


def _never_called(*_: Any) -> Any:
    raise RuntimeError("a background tool run has no model")


_NO_MODEL = FunctionModel(_never_called, model_name="none")


async def _actions_of(
    session: AsyncSession, run: ToolRun, message: Message, chain: tuple[uuid.UUID, ...]
) -> list[dict[str, Any]]:
    """The actions the call was made with: the turn's, or the calling sub-agent's release's."""
    if len(chain) <= 1:
        return TurnConfig.of_row(message).actions
    release = await release_of_status(session, run.workspace_uuid, chain[-1], "deployed")
    return list(release.actions or []) if release is not None else []


class ToolRunActivities:
    def __init__(self, deps: TurnDeps, client: Client) -> None:
        self.deps = deps
        self.client = client

    @activity.defn(name=RUN_TOOL_RUN)
    async def run_tool_run(self, run_input: ToolRunInput) -> str:
        info = activity.info()
        workflow_id = info.workflow_id or ""
        sessions, run_uuid = self.deps.sessions, uuid.UUID(run_input.run_uuid)
        chain = tuple(uuid.UUID(a) for a in run_input.chain)
        async with sessions() as session:
            run = await session.get(ToolRun, run_uuid)
            if run is None or run.status != "executing":
                return "finished"
            message = await session.get(Message, run.message_uuid)
            actions = [] if message is None else await _actions_of(session, run, message, chain)
            chat_uuid = message.chat_uuid if message is not None else None
            workspace_uuid, message_uuid = run.workspace_uuid, run.message_uuid
            slug, args, call_id = run.slug, dict(run.input or {}), run.tool_call_id
        log.info("tool run %s: attempt %d runs here", run_uuid, info.attempt)
        action = next((a for a in actions if a.get("slug") == slug), None)
        if action is None or chat_uuid is None:
            error = f"the action {slug!r} is no longer there to run"
            await record_tool_run(sessions, run_uuid, {"status": "failed", "error_message": error})
            return "failed"
        prefix = f"~{run_uuid}/"
        journal = await StepJournal.load(sessions, message_uuid, prefix)
        children = Subagents(self.client, self.deps.settings, message_uuid, prefix, workflow_id)
        usage: list[UsageRecord] = []
        children.count_answers(journal, usage)
        scope = TurnScope(
            durable_deps(self.deps, self.client, workflow_id, chain),
            workspace_uuid,
            chat_uuid,
            message_uuid,
            ask_agent=children.ask,
            chain=chain,
            sub_usage=usage,
        )
        heartbeat = asyncio.create_task(beat(info.heartbeat_timeout.total_seconds() if info.heartbeat_timeout else 30))
        try:
            values = {"status": "executed", "output": await _call(scope, action, slug, args, call_id)}
        except Exception as exc:
            values = {"status": "failed", "error_message": failure_text(exc)}
        finally:
            heartbeat.cancel()
        await record_tool_run(sessions, run_uuid, values)
        with suppress(Exception):
            await journal.clear()
        return "finished"

    @activity.defn(name=FAIL_TOOL_RUN)
    async def fail_tool_run(self, run_input: ToolRunInput) -> str:
        """No worker could finish the run: `failed` (interrupted), as in process."""
        run_uuid = uuid.UUID(run_input.run_uuid)
        await record_tool_run(self.deps.sessions, run_uuid, {"status": "failed", "error_message": INTERRUPTED})
        return "failed"


async def _call(scope: TurnScope, action: dict[str, Any], slug: str, args: dict[str, Any], call_id: str) -> Any:
    """Bind the one action (to run now, one input) and call it as the turn would have."""
    once: dict[str, Any] = {**action, "isBulkAllowed": False}
    if once.get("kind") != "connector":
        once["waitUntilFinished"] = True
    tools = await build_turn_tools(scope, [once], [])
    try:
        if tools.errors or not tools.toolsets:
            raise ToolFailed(str(tools.errors[0]["errorMessage"]) if tools.errors else f"no action {slug!r}")
        toolset = tools.toolsets[0]
        ctx = RunContext(deps=None, model=_NO_MODEL, usage=RunUsage(), tool_call_id=call_id, tool_name=slug)
        tool = (await toolset.get_tools(ctx))[slug]
        return (await toolset.call_tool(slug, args, ctx, tool))["data"]
    finally:
        await tools.aclose()
