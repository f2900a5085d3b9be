"""`waitUntilFinished: false` tool runs on Temporal: the call is stored (`tool_runs`, `executing`)
and run by a workflow (`ToolRunWorkflow`, id `toolrun-<run uuid>`) on any worker, so a worker's
death mid-run is followed by another worker running it to its end. The model gets `{outcome:
"executing", runUuid}` at once, as in process.

The run's uuid is derived from the calling workflow and the tool call id: a retried turn that
makes the same call again gets the same run (and the same workflow), not a second one. Only the
run uuid and the chain of agents cross Temporal: the worker that runs it reads the call from
`tool_runs` and binds the action again (`background.py`)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from pydantic_ai.exceptions import ToolFailed
from sqlalchemy.exc import IntegrityError
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from ...db.engine import SessionFactory
from ...db.tables import ToolRun
from ...settings import Settings
from ..tool_runs import add_tool_run, record_tool_run
from .workflows import ToolRunInput, ToolRunWorkflow

__all__ = ["TemporalToolRuns", "run_uuid_of", "workflow_id_of_run"]

log = logging.getLogger(__name__)
_RUNS = uuid.UUID("6f0c8f7e-3c1b-4f43-9a43-6b1f0f2d7a11")


def run_uuid_of(workflow_id: str, tool_call_id: str) -> uuid.UUID:
    """Derived (SHA-1, as uuid5), shaped as a version 4 uuid: the routes take those."""
    return uuid.UUID(bytes=uuid.uuid5(_RUNS, f"{workflow_id}:{tool_call_id}").bytes, version=4)


def workflow_id_of_run(run_uuid: uuid.UUID | str) -> str:
    return f"toolrun-{run_uuid}"


class TemporalToolRuns:
    """The `ToolRunner` of one durable activity (`workflow_id`: its workflow; `chain`: the agents
    running, whose last one's actions the call belongs to)."""

    def __init__(
        self,
        client: Client,
        settings: Settings,
        sessions: SessionFactory,
        workflow_id: str,
        chain: tuple[uuid.UUID, ...],
    ) -> None:
        self.client = client
        self.settings = settings
        self.sessions = sessions
        self.workflow_id = workflow_id
        self.chain = chain

    async def start(
        self,
        *,
        workspace_uuid: uuid.UUID,
        message_uuid: uuid.UUID,
        tool_call_id: str,
        slug: str,
        args: dict[str, Any],
        call: Callable[[], Awaitable[Any]],
    ) -> uuid.UUID:
        run_uuid = run_uuid_of(self.workflow_id, tool_call_id)
        row = ToolRun(
            uuid=run_uuid,
            workspace_uuid=workspace_uuid,
            message_uuid=message_uuid,
            tool_call_id=tool_call_id,
            slug=slug,
            status="executing",
            input=args,
        )
        with suppress(IntegrityError):  # the same call, made again by a retried activity
            await add_tool_run(self.sessions, row)
        settings = self.settings
        try:
            await self.client.start_workflow(
                ToolRunWorkflow.run,
                ToolRunInput(
                    str(run_uuid),
                    [str(a) for a in self.chain],
                    settings.temporal_heartbeat_seconds,
                    settings.temporal_max_attempts,
                ),
                id=workflow_id_of_run(run_uuid),
                task_queue=settings.temporal_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass
        except (RPCError, RuntimeError, OSError) as exc:
            log.error("tool run %s: could not start its workflow: %s", run_uuid, exc)
            message = "the tool run could not be started: Temporal did not answer"
            await record_tool_run(self.sessions, run_uuid, {"status": "failed", "error_message": message})
            raise ToolFailed(message) from exc
        return run_uuid
