"""Plugins: Python tools and connectors installed as packages, found through entry points.

- `cargohold.tools`: each entry point is a function (sync or async; its signature and docstring
  become the tool's schema and description) or a `pydantic_ai.Tool`. An action
  `{kind: "tool", toolUuid: null, templateSlug: "<entry point name>"}` calls it.
- `cargohold.connectors`: each entry point is a `Connector` (or a function returning one): an
  integration with named actions. An action `{kind: "connector", integrationSlug, actionSlug}`
  calls it. The built-in `http` connector (`cargohold.connectors.http`) is the reference.

A plugin that fails to load is logged and skipped: it never stops the server.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import httpx
from pydantic_ai import Tool

__all__ = ["ActionContext", "Connector", "ConnectorActionSpec", "Plugins"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """What a connector action gets besides its input."""

    workspace_uuid: uuid.UUID
    chat_uuid: uuid.UUID
    message_uuid: uuid.UUID
    tool_call_id: str
    http: httpx.AsyncClient
    """An outbound client guarded against private addresses (`CARGOHOLD_ALLOW_PRIVATE_URLS`)."""
    timeout: float


@dataclass(frozen=True, slots=True)
class ConnectorActionSpec:
    slug: str
    description: str
    input_schema: dict[str, Any]
    """JSON Schema of the input object."""
    run: Callable[[dict[str, Any], ActionContext], Awaitable[Any]]
    """Returns the JSON-able output; raises `pydantic_ai.exceptions.ToolFailed` for a clear failure."""


@dataclass(frozen=True, slots=True)
class Connector:
    slug: str
    """The `integrationSlug` actions use."""
    name: str
    actions: dict[str, ConnectorActionSpec] = field(default_factory=dict)


@dataclass(slots=True)
class Plugins:
    tools: dict[str, Tool[Any]] = field(default_factory=dict)
    connectors: dict[str, Connector] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Plugins:
        plugins = cls()
        for ep in entry_points(group="cargohold.tools"):
            try:
                plugins.add_tool(ep.name, ep.load())
            except Exception:
                log.exception("could not load the tool plugin %r (%s)", ep.name, ep.value)
        for ep in entry_points(group="cargohold.connectors"):
            try:
                plugins.add_connector(ep.load())
            except Exception:
                log.exception("could not load the connector plugin %r (%s)", ep.name, ep.value)
        return plugins

    def add_tool(self, name: str, obj: Any) -> None:
        tool = obj if isinstance(obj, Tool) else Tool(obj, name=name)
        self.tools[name] = tool

    def add_connector(self, obj: Any) -> None:
        connector = obj if isinstance(obj, Connector) else obj()
        if not isinstance(connector, Connector):
            raise TypeError(f"a cargohold.connectors entry point must be a Connector, not {type(connector).__name__}")
        self.connectors[connector.slug] = connector
