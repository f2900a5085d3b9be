"""What a running app holds: opened by the lifespan, passed to services. Nothing global."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from .db.engine import SessionFactory
from .runtime.models import ModelRegistry
from .runtime.outbound import AllowList
from .runtime.plugins import Plugins
from .runtime.tools import ToolRegistry
from .settings import Settings
from .stream.broker import Broker

if TYPE_CHECKING:
    from .jobs.runs import RunExecutor
    from .jobs.tool_runs import BackgroundToolRuns

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
    executor: RunExecutor = field(init=False)
    tool_runs: BackgroundToolRuns = field(init=False)
    http: httpx.AsyncClient = field(init=False)
    """Outbound HTTP for tools and connectors, guarded by `outbound`; shared, closed at shutdown."""
