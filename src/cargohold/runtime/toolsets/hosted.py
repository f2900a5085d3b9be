"""A turn's toolsets used with no agent around them: the tools an outside MCP client lists and
calls on a hosted MCP server (`api/mcp_host.py`).

The same toolsets a turn gets (actions, resources) and the same guard (`GuardedToolset`: failures
are data, outputs capped) run here; only the model is missing. pydantic-ai's `RunContext` needs one,
so a placeholder that is never called stands in (`_NoModel`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_ai import RunContext
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.models.function import FunctionModel
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.toolsets import AbstractToolset, CombinedToolset
from pydantic_ai.usage import RunUsage

from .actions import failure_text
from .guard import GuardedToolset

__all__ = ["HostedTools", "ToolOutcome"]


def _never_called(*_: Any) -> Any:
    raise RuntimeError("hosted tools run without a model")


_NO_MODEL = FunctionModel(_never_called, model_name="none")


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    output: Any = None
    error: str | None = None


class HostedTools:
    """Lists and calls the tools of `toolsets` (each guarded), one `RunContext` per call."""

    def __init__(self, toolsets: list[AbstractToolset[Any]], *, max_output_bytes: int) -> None:
        self.toolset = CombinedToolset([GuardedToolset(t, max_output_bytes) for t in toolsets])

    @staticmethod
    def _context(call_id: str | None = None, name: str | None = None) -> RunContext[Any]:
        return RunContext(deps=None, model=_NO_MODEL, usage=RunUsage(), tool_call_id=call_id, tool_name=name)

    async def definitions(self) -> list[ToolDefinition]:
        tools = await self.toolset.get_tools(self._context())
        return [tool.tool_def for tool in tools.values()]

    async def call(self, name: str, args: dict[str, Any], call_id: str) -> ToolOutcome:
        ctx = self._context(call_id, name)
        tools = await self.toolset.get_tools(ctx)
        tool = tools.get(name)
        if tool is None:
            return ToolOutcome(error=f"unknown tool {name!r}: this server offers {', '.join(sorted(tools)) or 'none'}")
        try:
            validated = tool.args_validator.validate_python(args)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()[:5]
            )
            return ToolOutcome(error=f"invalid input: {problems}")
        try:
            return ToolOutcome(output=await self.toolset.call_tool(name, validated, ctx, tool))
        except asyncio.CancelledError:
            raise
        except ToolFailed as exc:
            return ToolOutcome(error=exc.message)
        except Exception as exc:
            return ToolOutcome(error=failure_text(exc))
