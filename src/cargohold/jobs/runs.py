"""The in-process executor: each turn is a task owned by the app, not by any request. It starts
the turn at once (`initial_status = "generating"`), with what the service already has in hand:
`start_turn` submits it while its transaction commits (`PreparedTurn.stored`)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Literal

from ..services.ports import PreparedTurn, TurnDeps
from ..stream.broker import Broker
from .turn_run import TurnRun

__all__ = ["RunExecutor"]

log = logging.getLogger(__name__)


class RunExecutor:
    initial_status: Literal["pending", "generating"] = "generating"

    def __init__(self, deps: TurnDeps, broker: Broker) -> None:
        self.deps = deps
        self.broker = broker
        self.tasks: dict[uuid.UUID, asyncio.Task[None]] = {}

    def submit(self, message_uuid: uuid.UUID, prepared: PreparedTurn | None = None) -> None:
        if message_uuid in self.tasks:  # keyed by message: a retry cannot run it twice here
            return
        run = TurnRun(self.deps, self.broker, message_uuid, prepared)
        task = asyncio.create_task(run.run(), name=f"turn-{message_uuid}")
        self.tasks[message_uuid] = task
        task.add_done_callback(lambda t: self._done(message_uuid, t))
        if prepared is not None and prepared.stored is not None:  # its message's commit failed: stop it
            prepared.stored.add_done_callback(lambda stored: task.cancel() if stored.cancelled() else None)

    def is_running(self, message_uuid: uuid.UUID) -> bool:
        return message_uuid in self.tasks

    def _done(self, message_uuid: uuid.UUID, task: asyncio.Task[None]) -> None:
        self.tasks.pop(message_uuid, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("turn %s crashed", message_uuid, exc_info=task.exception())

    async def shutdown(self) -> None:
        """Stop every running turn; each is finished as `error` (interrupted) with its parts so far."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
