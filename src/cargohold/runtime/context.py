"""What a source of tools gets from a turn (`TurnContext`) and gives back (`ToolSource`).

Actions, MCP clients, resources (`runtime/resources/`) and capabilities (`runtime/capabilities/`)
are each a source: a function `(config, ctx) -> ToolSource`, called when the turn's agent is
built. A source that cannot be used (a deleted model, an unreachable server) returns no toolset
and an entry in `errors`: the turn shows it as a `data-tool-error` part and goes on without it.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx
    from pydantic_ai.toolsets import AbstractToolset

    from ..db.engine import SessionFactory
    from ..settings import Settings
    from .capabilities.ports import CapabilityPorts

__all__ = ["EmitChunk", "ToolSource", "TurnContext"]

EmitChunk = Callable[[dict[str, Any]], Awaitable[None]]
"""Adds a UI message stream chunk (`source-url`, `source-document`, `file`, `data-*`) to the turn's
stream and to the stored parts, in order with the model's own chunks."""


@dataclass(frozen=True, slots=True)
class TurnContext:
    workspace_uuid: uuid.UUID
    chat_uuid: uuid.UUID
    message_uuid: uuid.UUID
    user_uuid: uuid.UUID | None
    agent_uuid: uuid.UUID | None
    user_text: str
    """The text of the user message this turn answers (all its text parts, joined)."""
    settings: Settings
    sessions: SessionFactory
    http: httpx.AsyncClient
    """Outbound HTTP through the guard (no private addresses unless the operator allows them)."""
    emit: EmitChunk
    ports: CapabilityPorts | None = None
    """Storage the capabilities use (memories, documents), bound to this turn (issue 14)."""


@dataclass(slots=True)
class ToolSource:
    toolsets: list[AbstractToolset[Any]] = field(default_factory=list)
    evaluated: dict[str, dict[str, Any]] = field(default_factory=dict)
    """`message.evaluatedTools` entries, keyed by tool name: `{kind, name, ...origin ids}`."""
    errors: list[dict[str, Any]] = field(default_factory=list)
    """`{name, kind, errorMessage}` per part of the source that cannot be used this turn."""
    instructions: list[str] = field(default_factory=list)
    """Added to the turn's instructions (e.g. the memories relevant to the user's message)."""
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    builtin_tools: list[Any] = field(default_factory=list)
    """pydantic-ai native tools (`pydantic_ai.native_tools.*`) the model runs itself (webSearch's `native`)."""

    def add(self, other: ToolSource) -> None:
        self.toolsets.extend(other.toolsets)
        self.evaluated.update(other.evaluated)
        self.errors.extend(other.errors)
        self.instructions.extend(other.instructions)
        self.closers.extend(other.closers)
        self.builtin_tools.extend(other.builtin_tools)

    async def aclose(self) -> None:
        for close in reversed(self.closers):
            with suppress(Exception):  # closing a session that already broke
                await close()
        self.closers.clear()
