"""The tools a turn may call. Built-in tools are enabled by settings; code that embeds cargohold
(and tests) may register more. Actions, MCP clients and resources join here in later work."""

from __future__ import annotations

from pydantic_ai import Tool

from .builtin_tools import BUILTIN_TOOLS

__all__ = ["ToolRegistry"]


class ToolRegistry:
    def __init__(self, builtin: list[str]) -> None:
        unknown = sorted(set(builtin) - set(BUILTIN_TOOLS))
        if unknown:
            raise ValueError(f"unknown built-in tools {unknown}; available: {sorted(BUILTIN_TOOLS)}")
        self._tools: dict[str, Tool] = {name: BUILTIN_TOOLS[name] for name in builtin}

    def register(self, tool: Tool) -> None:
        self._tools[tool.name] = tool

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def all(self) -> list[Tool]:
        return list(self._tools.values())
