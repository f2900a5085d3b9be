"""Sub-agents on Temporal: an agent action's turn is a child workflow (`SubagentWorkflow`) of the
workflow whose activity called it, with its own journal, so a worker's death during it resumes it
where it stood instead of running a fresh one.

How a call goes (`Subagents.ask`, in the calling activity):

1. the request (agent, prompt, the chain of agents) is stored under the child's journal prefix
   (`<caller's prefix>@<tool call id>/`), first write wins;
2. the caller's own workflow is asked to start the child (`start_subagent` update, id
   `<caller's workflow id>:<tool call id>`, e.g. `turn-<message uuid>:<tool call id>`): it starts
   it once, and answers a repeated ask (a retried activity) once the child is started;
3. the caller waits for the child's workflow to end and reads its answer (text or error, and its
   usage) from the journal. The answer is never in a Temporal payload.

A retried caller runs the tool call again only if its result was not journaled; then it gets the
same child, running or finished. A child's usage is counted once: a taking-over turn counts the
answers already written (`count_answers`), and `ask` counts only answers not counted yet.

The child's activity (`SubagentActivities.run_subagent`) runs `services.subagents.run_subagent`
with the model and toolsets journaled under its prefix (`durable.journaled`), without a stream."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic_ai.exceptions import ToolFailed
from temporalio import activity
from temporalio.client import Client, WorkflowFailureError
from temporalio.service import RPCError

from ...db.tables import TurnStep
from ...runtime.credits import UsageRecord
from ...services.ports import TurnDeps
from ...services.subagents import refusal, run_subagent
from ...services.turn_tools import TurnScope
from ...settings import Settings
from .durable import Steps, journaled
from .journal import StepJournal, get_step, put_step, take_journal
from .tool_runs import TemporalToolRuns
from .workflows import FAIL_SUBAGENT, RUN_SUBAGENT, START_SUBAGENT, ChildStart, SubagentInput

__all__ = ["SubagentActivities", "Subagents", "beat", "durable_deps"]

log = logging.getLogger(__name__)
INTERRUPTED = "the agent's turn was interrupted: no worker could finish it"


def durable_deps(deps: TurnDeps, client: Client, workflow_id: str, chain: tuple[uuid.UUID, ...]) -> TurnDeps:
    """The deps of one durable activity: background tool runs start workflows from here."""
    return replace(deps, tool_runs=TemporalToolRuns(client, deps.settings, deps.sessions, workflow_id, chain))


@dataclass(slots=True)
class Subagents:
    """The agent actions of one durable activity (a turn, a sub-agent's turn, a tool run)."""

    client: Client
    settings: Settings
    message_uuid: uuid.UUID
    prefix: str
    """The caller's journal prefix: its children go under `<prefix>@<tool call id>/`."""
    workflow_id: str
    """The caller's workflow: it starts the children."""
    counted: set[str] = field(default_factory=set)

    def count_answers(self, journal: StepJournal, usage: list[UsageRecord]) -> None:
        """A takeover: the answers its children already wrote are spent; count them once here."""
        for key, answer in journal.answers.items():
            self.counted.add(key)
            usage.extend(UsageRecord.of_stored(u) for u in answer.get("usage") or [])

    async def ask(self, scope: TurnScope, agent_uuid: uuid.UUID, prompt: str, call_id: str) -> str:
        refused = refusal(scope, agent_uuid)
        if refused is not None:
            raise ToolFailed(refused)
        if not call_id:
            raise ToolFailed("an agent action needs a tool call id here")
        sessions = scope.deps.sessions
        key = f"{self.prefix}@{call_id.replace('/', '%2F')}/"
        request = {
            "agentUuid": str(agent_uuid),
            "prompt": prompt,
            "chain": [str(a) for a in scope.chain],
            "workspaceUuid": str(scope.workspace_uuid),
            "chatUuid": str(scope.chat_uuid),
        }
        await put_step(sessions, self.message_uuid, "subagent", key, request)
        child_id = f"{self.workflow_id}:{call_id}"
        settings = self.settings
        child = SubagentInput(
            str(self.message_uuid), key, settings.temporal_heartbeat_seconds, settings.temporal_max_attempts
        )
        try:
            await self.client.get_workflow_handle(self.workflow_id).execute_update(
                START_SUBAGENT, ChildStart(child_id, child)
            )
            await self.client.get_workflow_handle(child_id).result()
        except (WorkflowFailureError, RPCError) as exc:
            raise ToolFailed(f"the agent's turn failed: {exc}") from exc
        answer: dict[str, Any] | None = await get_step(sessions, self.message_uuid, "answer", key)
        if answer is None:
            raise ToolFailed(INTERRUPTED)
        if key not in self.counted:
            self.counted.add(key)
            scope.sub_usage.extend(UsageRecord.of_stored(u) for u in answer.get("usage") or [])
        if "error" in answer:
            raise ToolFailed(str(answer["error"]))
        return str(answer.get("text", ""))


class SubagentActivities:
    def __init__(self, deps: TurnDeps, client: Client) -> None:
        self.deps = deps
        self.client = client

    @activity.defn(name=RUN_SUBAGENT)
    async def run_subagent(self, child: SubagentInput) -> str:
        info = activity.info()
        workflow_id = info.workflow_id or ""
        message_uuid = uuid.UUID(child.message_uuid)
        owner = f"{info.workflow_run_id}/{info.attempt}"
        async with self.deps.sessions() as session, session.begin():
            # The fence (journal.py) before the journal is read; not when the turn is over (its
            # journal cleared): nothing is left behind then.
            if await session.get(TurnStep, (message_uuid, "subagent", child.key)) is None:
                return "skipped"
            await take_journal(session, message_uuid, child.key, owner)
        journal = await StepJournal.load(self.deps.sessions, message_uuid, child.key, owner=owner)
        if journal.answer is not None:
            return "finished"
        request = journal.request
        if request is None:  # the turn was finished (and its journal cleared) meanwhile
            return "skipped"
        log.info("sub-agent %s: attempt %d runs here", info.workflow_id, info.attempt)
        chain = tuple(uuid.UUID(a) for a in request["chain"])
        agent_uuid = uuid.UUID(request["agentUuid"])
        usage: list[UsageRecord] = list(journal.lost)
        resume_at = journal.resume_at
        if resume_at is not None and resume_at not in journal.responses:
            # A model call was cut off with the worker that made it: spent, of unknown size.
            lost = UsageRecord(requests_count=1, is_estimated=True)
            await journal.record_lost(info.attempt, lost)
            usage.append(lost)
            log.warning("sub-agent %s taken over (attempt %d) at request %d", info.workflow_id, info.attempt, resume_at)
        children = Subagents(self.client, self.deps.settings, message_uuid, child.key, workflow_id)
        children.count_answers(journal, usage)
        scope = TurnScope(
            durable_deps(self.deps, self.client, workflow_id, (*chain, agent_uuid)),
            uuid.UUID(request["workspaceUuid"]),
            uuid.UUID(request["chatUuid"]),
            message_uuid,
            ask_agent=children.ask,
            chain=chain,
            sub_usage=usage,
        )
        steps = Steps(journal, None, None, resume_at)
        heartbeat = asyncio.create_task(beat(info.heartbeat_timeout.total_seconds() if info.heartbeat_timeout else 30))
        try:
            text = await run_subagent(scope, agent_uuid, request["prompt"], wrap=journaled(steps))
            answer: dict[str, Any] = {"text": text}
        except ToolFailed as exc:
            answer = {"error": exc.message}
        finally:
            heartbeat.cancel()
        answer["usage"] = [u.wire() for u in usage]
        await journal.record_answer(answer)
        return "finished"

    @activity.defn(name=FAIL_SUBAGENT)
    async def fail_subagent(self, child: SubagentInput) -> str:
        """No worker could finish the sub-agent's turn: its caller gets an error result."""
        await put_step(
            self.deps.sessions, uuid.UUID(child.message_uuid), "answer", child.key, {"error": INTERRUPTED, "usage": []}
        )
        return "failed"


async def beat(every: float) -> None:
    """Tell Temporal this worker is alive; when it stops (the process died), the activity is retried."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(every / 3)
