"""The ports a turn needs from the running app, as explicit types: what services hand a turn to
(`Executor`), what runs background tool calls (`ToolRunner`), and what a turn's tools may use
(`TurnDeps`, frozen). Implementations live in `jobs/` and are wired by the app's lifespan; no
service imports them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import httpx

    from ..db.engine import SessionFactory
    from ..files.blobs import BlobStore
    from ..runtime.models import ModelRegistry
    from ..runtime.plugins import Plugins
    from ..runtime.tools import ToolRegistry
    from ..runtime.turn_config import TurnConfig
    from ..settings import Settings
    from ..stream.publisher import StreamPublisher

__all__ = ["Executor", "NoSchedules", "PreparedTurn", "ScheduleSync", "ToolRunner", "TurnDeps"]


@dataclass(slots=True)
class PreparedTurn:
    """What the service that stores a turn already knows, so an in-process run need not read it
    back: the assistant message, its configuration, the chat history before it, and the stream
    (opened with its `start` chunk before `stored` is done)."""

    message_uuid: uuid.UUID
    workspace_uuid: uuid.UUID
    chat_uuid: uuid.UUID
    user_uuid: uuid.UUID | None
    agent_uuid: uuid.UUID | None
    config: TurnConfig
    history: list[tuple[str, str, list[dict[str, Any]]]]
    """(uuid, type, parts) per message, oldest first, the user message of this turn last."""
    publisher: StreamPublisher | None = None
    stored: asyncio.Future[None] | None = None
    """Set when the run is submitted before the transaction that stores its message has
    committed (`services.messages.start_turn`): done once the message is stored and the stream
    opened, cancelled when it never will be (the executor then cancels the run). Until then the
    run may build its agent, but reads and writes nothing and asks no model."""


class Executor(Protocol):
    initial_status: Literal["pending", "generating"]
    """The status a turn is stored with: `generating` when submit starts it at once here."""

    def submit(self, message_uuid: uuid.UUID, prepared: PreparedTurn | None = None) -> None: ...

    def is_running(self, message_uuid: uuid.UUID) -> bool:
        """True when this process runs the turn now (its late lease is overload, not death)."""
        ...


class ScheduleSync(Protocol):
    """Told after an agent's triggers or deployed release may have changed (created, updated,
    deleted, deployed): with Temporal, its Schedules follow (`jobs/temporal/schedules.py`)."""

    async def agent_changed(self, agent_uuid: uuid.UUID) -> None: ...

    def cron_schedule_id(self, agent_uuid: uuid.UUID, trigger: dict[str, Any]) -> str | None:
        """The id of the Temporal Schedule that fires a deployed agent's cron trigger (the agent's
        `temporalScheduleWorkflowId`); None when there is none (no Temporal)."""
        ...


class NoSchedules:
    """In process: the scheduler reads the agents on each pass; nothing to keep in step."""

    async def agent_changed(self, agent_uuid: uuid.UUID) -> None:
        return None

    def cron_schedule_id(self, agent_uuid: uuid.UUID, trigger: dict[str, Any]) -> str | None:
        return None


class ToolRunner(Protocol):
    async def start(
        self,
        *,
        workspace_uuid: uuid.UUID,
        message_uuid: uuid.UUID,
        tool_call_id: str,
        slug: str,
        args: dict[str, Any],
        call: Callable[[], Awaitable[Any]],
    ) -> uuid.UUID: ...


@dataclass(frozen=True, slots=True)
class TurnDeps:
    """What a turn's tools may use; the same for every turn of a process."""

    settings: Settings
    sessions: SessionFactory
    http: httpx.AsyncClient
    """Outbound HTTP through the guard (no private addresses unless the operator allows them)."""
    models: ModelRegistry
    tools: ToolRegistry
    plugins: Plugins
    tool_runs: ToolRunner
    blobs: BlobStore | None = None
    """Where chat files written by tools go (the code interpreter's files)."""
