"""Tool calls started with `waitUntilFinished: false`: the model is told `{outcome: "executing",
runUuid}` at once; the call runs here, owned by the app, and its result is recorded in `tool_runs`
(readable at `GET /v1/tools/runs/{uuid}`). A call cut off by shutdown is recorded as failed."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

import sqlalchemy as sa

from ..db.engine import SessionFactory
from ..db.tables import ToolRun
from ..db.types import utcnow
from ..runtime.toolsets.actions import failure_text

__all__ = ["INTERRUPTED", "BackgroundToolRuns", "add_tool_run", "record_tool_run"]

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: the server stopped before this tool call finished"


class BackgroundToolRuns:
    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.tasks: set[asyncio.Task[None]] = set()

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
        run_uuid = uuid.uuid4()
        await add_tool_run(
            self.sessions,
            ToolRun(
                uuid=run_uuid,
                workspace_uuid=workspace_uuid,
                message_uuid=message_uuid,
                tool_call_id=tool_call_id,
                slug=slug,
                status="executing",
                input=args,
            ),
        )
        task = asyncio.create_task(self._run(run_uuid, call), name=f"tool-run-{run_uuid}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return run_uuid

    async def _run(self, run_uuid: uuid.UUID, call: Callable[[], Awaitable[Any]]) -> None:
        values: dict[str, Any]
        try:
            values = {"status": "executed", "output": await call()}
        except asyncio.CancelledError:
            values = {"status": "failed", "error_message": INTERRUPTED}
        except Exception as exc:
            values = {"status": "failed", "error_message": failure_text(exc)}
        try:
            await record_tool_run(self.sessions, run_uuid, values)
        except Exception:
            log.exception("could not record the result of tool run %s", run_uuid)

    async def shutdown(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            with suppress(Exception):
                await asyncio.wait(tasks, timeout=10)


async def add_tool_run(sessions: SessionFactory, run: ToolRun) -> None:
    """Store a run as `executing` (once: a run already stored, e.g. by a retried call, is kept)."""
    async with sessions() as session, session.begin():
        if await session.get(ToolRun, run.uuid) is None:
            session.add(run)


async def record_tool_run(sessions: SessionFactory, run_uuid: uuid.UUID, values: dict[str, Any]) -> None:
    """Record how a run ended (`status` and `output` or `error_message`); the first record wins."""
    async with sessions() as session, session.begin():
        await session.execute(
            sa.update(ToolRun)
            .where(ToolRun.uuid == run_uuid, ToolRun.status == "executing")
            .values(finished_at=utcnow(), **values)
        )
