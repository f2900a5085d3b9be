"""What a running app holds: opened by the lifespan, passed to services. Nothing global.

The turn's own ports (`TurnDeps`, `Executor`) are typed in `services/ports.py`; their
implementations (jobs/) are set here by the lifespan."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import cached_property

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .db.engine import SessionFactory, one_statement_options
from .files.blobs import BlobStore
from .runtime.models import ModelRegistry
from .runtime.outbound import AllowList
from .runtime.plugins import Plugins
from .runtime.tools import ToolRegistry
from .services.ports import Executor, NoSchedules, ScheduleSync, ToolRunner, TurnDeps
from .services.rate_limits import RateLimiter
from .settings import Settings
from .stream.broker import Broker

__all__ = ["AppState"]


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    broker: Broker
    models: ModelRegistry
    tools: ToolRegistry
    plugins: Plugins
    outbound: AllowList
    """Private addresses the operator allows outbound requests to (`CARGOHOLD_ALLOW_PRIVATE_URLS`)."""
    http: httpx.AsyncClient
    """Outbound HTTP for tools and connectors, guarded by `outbound`; shared, closed at shutdown."""
    tool_runs: ToolRunner
    reads: SessionFactory
    """Sessions for reads only: on SQLite they never take (or wait for) the write lock."""
    executor: Executor = field(init=False)
    limiter: RateLimiter = field(init=False)
    """Connectors' rate limits (Redis when configured), set by the lifespan (services/connectors)."""
    schedules: ScheduleSync = field(default_factory=NoSchedules)
    """Scheduled agents (issue 13): Temporal Schedules kept in step with agents, when configured."""

    # --- Files (issue 12): the blob store, and a nudge for this replica's indexer after an upload ---
    blobs: BlobStore = field(init=False)
    wake_indexer: Callable[[], None] = field(init=False, default=lambda: None)

    @cached_property
    def _one_statement_reads(self) -> AsyncEngine:
        bind = self.reads.kw["bind"]
        assert isinstance(bind, AsyncEngine)
        return bind.execution_options(**one_statement_options(bind))  # the same pool, these options

    def read_connection(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection of the reads engine, without an ORM session, for ONE statement on every
        request's path (the token lookup), run with no transaction around it."""
        return self._one_statement_reads.connect()

    def turn_deps(self) -> TurnDeps:
        return TurnDeps(
            self.settings,
            self.sessions,
            self.http,
            self.models,
            self.tools,
            self.plugins,
            self.tool_runs,
            blobs=getattr(self, "blobs", None),
        )
