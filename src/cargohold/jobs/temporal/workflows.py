"""The Temporal workflows of durable turns. Each runs one activity to its end, retried on another
worker when the one running it stops reporting (its death); the activity journals every step, so a
retry takes over where it stood (see durable.py). When no attempt is left, a last activity records
the failure the way the lease reaper does in process.

- `TurnWorkflow` (`turn-<message uuid>`): a turn.
- `SubagentWorkflow` (`<parent workflow id>:<tool call id>`): a sub-agent's turn, a child workflow
  of the workflow whose activity called the agent action. That activity asks its own workflow to
  start the child (the `start_subagent` update: idempotent, a retried activity asking again gets
  the same child) and then waits for the child's result; the child journals its own steps.
- `ToolRunWorkflow` (`toolrun-<run uuid>`): a `waitUntilFinished: false` tool call.

Inputs and results are ids and keys only: what a step produced is in the database (journal.py).
Deterministic: no clock, no I/O, no randomness; it imports nothing but temporalio."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.workflow import ParentClosePolicy

__all__ = [
    "FAIL_SUBAGENT",
    "FAIL_TOOL_RUN",
    "FAIL_TURN",
    "RUN_SUBAGENT",
    "RUN_TOOL_RUN",
    "RUN_TURN",
    "START_SUBAGENT",
    "ChildStart",
    "SubagentInput",
    "SubagentWorkflow",
    "ToolRunInput",
    "ToolRunWorkflow",
    "TurnInput",
    "TurnWorkflow",
]

RUN_TURN = "cargohold.run_turn"
FAIL_TURN = "cargohold.fail_turn"
RUN_SUBAGENT = "cargohold.run_subagent"
FAIL_SUBAGENT = "cargohold.fail_subagent"
RUN_TOOL_RUN = "cargohold.run_tool_run"
FAIL_TOOL_RUN = "cargohold.fail_tool_run"
START_SUBAGENT = "cargohold.start_subagent"


@dataclass
class TurnInput:
    message_uuid: str
    heartbeat_seconds: float
    max_attempts: int


@dataclass
class SubagentInput:
    message_uuid: str
    """The message of the turn at the top of the chain: the journal's rows are under it."""
    key: str
    """The child's journal prefix; its request (agent, prompt, chain) is stored there."""
    heartbeat_seconds: float
    max_attempts: int


@dataclass
class ChildStart:
    workflow_id: str
    child: SubagentInput


@dataclass
class ToolRunInput:
    run_uuid: str
    chain: list[str] = field(default_factory=list)
    """The agents running when the call was made (the last one's actions are bound again)."""
    heartbeat_seconds: float = 5.0
    max_attempts: int = 10


async def _run_durably(run: str, fail: str, arg: object, heartbeat_seconds: float, max_attempts: int) -> str:
    try:
        return await workflow.execute_activity(
            run,
            arg,
            result_type=str,
            start_to_close_timeout=timedelta(hours=6),
            heartbeat_timeout=timedelta(seconds=heartbeat_seconds),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100),
                backoff_coefficient=2.0,
                maximum_interval=timedelta(seconds=5),
                maximum_attempts=max_attempts,
            ),
        )
    except ActivityError:
        return await workflow.execute_activity(
            fail,
            arg,
            result_type=str,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
        )


class _StartsSubagents:
    """A workflow whose activity may call agents: it starts each sub-agent's child workflow once."""

    def __init__(self) -> None:
        self._asked: set[str] = set()
        self._started: set[str] = set()

    @workflow.update(name=START_SUBAGENT)
    async def start_subagent(self, start: ChildStart) -> None:
        """Returns once the child is started (by this call or an earlier one for the same id)."""
        wid = start.workflow_id
        if wid in self._asked:
            await workflow.wait_condition(lambda: wid in self._started)
            return
        self._asked.add(wid)
        try:
            await workflow.start_child_workflow(
                SubagentWorkflow.run,
                start.child,
                id=wid,
                parent_close_policy=ParentClosePolicy.TERMINATE,
            )
        except BaseException:
            self._asked.discard(wid)
            raise
        self._started.add(wid)

    async def _handled(self, result: str) -> str:
        await workflow.wait_condition(workflow.all_handlers_finished)
        return result


@workflow.defn(name="cargohold.turn")
class TurnWorkflow(_StartsSubagents):
    @workflow.run
    async def run(self, turn: TurnInput) -> str:
        result = await _run_durably(RUN_TURN, FAIL_TURN, turn.message_uuid, turn.heartbeat_seconds, turn.max_attempts)
        return await self._handled(result)


@workflow.defn(name="cargohold.subagent")
class SubagentWorkflow(_StartsSubagents):
    @workflow.run
    async def run(self, child: SubagentInput) -> str:
        result = await _run_durably(RUN_SUBAGENT, FAIL_SUBAGENT, child, child.heartbeat_seconds, child.max_attempts)
        return await self._handled(result)


@workflow.defn(name="cargohold.tool_run")
class ToolRunWorkflow(_StartsSubagents):
    @workflow.run
    async def run(self, run: ToolRunInput) -> str:
        result = await _run_durably(RUN_TOOL_RUN, FAIL_TOOL_RUN, run, run.heartbeat_seconds, run.max_attempts)
        return await self._handled(result)
