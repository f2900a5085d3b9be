"""The built-in tools of a turn, as one pydantic-ai `FunctionToolset`. Built-in tools are enabled by
settings (`CARGOHOLD_BUILTIN_TOOLS`); code that embeds cargohold (and tests) may register more."""

from __future__ import annotations

from typing import Any

from pydantic_ai import Tool
from pydantic_ai.toolsets import FunctionToolset

from .builtin_tools import BUILTIN_TOOLS

__all__ = ["ToolRegistry"]


class ToolRegistry(FunctionToolset[Any]):
    def __init__(self, builtin: list[str]) -> None:
        unknown = sorted(set(builtin) - set(BUILTIN_TOOLS))
        if unknown:
            raise ValueError(f"unknown built-in tools {unknown}; available: {sorted(BUILTIN_TOOLS)}")
        super().__init__([BUILTIN_TOOLS[name] for name in builtin])

    def register(self, tool: Tool[Any]) -> None:
        """Add a tool, or replace the one of that name."""
        self.tools[tool.name] = tool

    def unregister(self, name: str) -> None:
        self.tools.pop(name, None)

    def all(self) -> list[Tool[Any]]:
        return list(self.tools.values())
