"""What a running app holds: opened by the lifespan, passed to services. Nothing global."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from .db.engine import SessionFactory
from .runtime.models import ModelRegistry
from .runtime.tools import ToolRegistry
from .settings import Settings
from .stream.broker import Broker

if TYPE_CHECKING:
    from .jobs.runs import RunExecutor

__all__ = ["AppState"]


@dataclass
class AppState:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    broker: Broker
    models: ModelRegistry
    tools: ToolRegistry
    executor: RunExecutor = field(init=False)
