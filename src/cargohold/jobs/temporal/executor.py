"""The Temporal executor, used by API instances when `CARGOHOLD_TEMPORAL_ADDRESS` is set: each
turn is stored `pending` and started as a workflow (`cargohold.turn`, id `turn-<message uuid>`,
recorded on the message as `temporalWorkflowId`); `cargohold worker` processes run it. The API
instance runs no turn: its death does not touch one.

A message whose workflow could not be started is finished `error` at once; one whose API
instance died before starting it has no workflow id yet, so the lease reaper ends it."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Literal

import sqlalchemy as sa
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from ...db.engine import SessionFactory
from ...db.tables import Message
from ...services.finish import Ending, finish_message
from ...services.ports import PreparedTurn
from ...settings import Settings
from ...stream.broker import Broker
from ...stream.publisher import StreamPublisher
from .workflows import TurnInput, TurnWorkflow

__all__ = ["TemporalExecutor", "connect", "workflow_id_of"]

log = logging.getLogger(__name__)


def workflow_id_of(message_uuid: uuid.UUID | str) -> str:
    return f"turn-{message_uuid}"


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    assert settings.temporal_address is not None
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace, lazy=lazy)


class TemporalExecutor:
    initial_status: Literal["pending", "generating"] = "pending"

    def __init__(self, client: Client, settings: Settings, sessions: SessionFactory, broker: Broker) -> None:
        self.client = client
        self.settings = settings
        self.sessions = sessions
        self.broker = broker
        self.starting: set[asyncio.Task[None]] = set()

    def submit(self, message_uuid: uuid.UUID, prepared: PreparedTurn | None = None) -> None:
        task = asyncio.create_task(self._start(message_uuid), name=f"start-turn-{message_uuid}")
        self.starting.add(task)
        task.add_done_callback(self.starting.discard)

    def is_running(self, message_uuid: uuid.UUID) -> bool:
        return False  # no turn runs here; the reaper leaves Temporal's turns alone (they have a workflow id)

    async def _start(self, message_uuid: uuid.UUID) -> None:
        workflow_id = workflow_id_of(message_uuid)
        settings = self.settings
        try:
            await self.client.start_workflow(
                TurnWorkflow.run,
                TurnInput(str(message_uuid), settings.temporal_heartbeat_seconds, settings.temporal_max_attempts),
                id=workflow_id,
                task_queue=settings.temporal_task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            pass
        except (RPCError, RuntimeError, OSError) as exc:
            log.error("turn %s: could not start its workflow: %s", message_uuid, exc)
            ending = Ending("error", "error", "the turn could not be started: Temporal did not answer")
            publisher = StreamPublisher(self.broker, str(message_uuid), settings.ai_sdk_version)
            await finish_message(self.sessions, publisher, message_uuid, ending)
            return
        # The worker records it too when it claims the turn; whichever comes first.
        async with self.sessions() as session, session.begin():
            await session.execute(
                sa.update(Message).where(Message.uuid == message_uuid).values(temporal_workflow_id=workflow_id)
            )

    async def ready(self) -> None:
        """Raises when the Temporal frontend does not answer (`/readyz`)."""
        await self.client.service_client.check_health()

    async def shutdown(self) -> None:
        """Let the workflows being started be started (they carry turns already stored)."""
        if self.starting:
            await asyncio.wait(list(self.starting), timeout=10)
