"""The in-process executor: each turn is a task owned by the app, not by any request."""

from __future__ import annotations

import asyncio
import logging
import uuid

from ..services.turns import run_message
from ..state import AppState

__all__ = ["RunExecutor"]

log = logging.getLogger(__name__)


class RunExecutor:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self.tasks: dict[uuid.UUID, asyncio.Task[None]] = {}

    def submit(self, message_uuid: uuid.UUID) -> None:
        if message_uuid in self.tasks:  # keyed by message: a retry cannot run it twice here
            return
        task = asyncio.create_task(run_message(self.state, message_uuid), name=f"turn-{message_uuid}")
        self.tasks[message_uuid] = task
        task.add_done_callback(lambda t: self._done(message_uuid, t))

    def _done(self, message_uuid: uuid.UUID, task: asyncio.Task[None]) -> None:
        self.tasks.pop(message_uuid, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("turn %s crashed", message_uuid, exc_info=task.exception())

    async def shutdown(self) -> None:
        """Stop every running turn; each is stored as `error` (interrupted) with its parts so far."""
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=10)
