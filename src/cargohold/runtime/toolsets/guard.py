"""`GuardedToolset`: what every tool call of a turn goes through, whatever the tool's kind.

- A failure is data, never the end of the turn: any exception a tool raises (a built-in tool's
  `ValueError`, a plugin's bug) becomes a `ToolFailed` the model sees as an error result (an
  `output-error` part). pydantic-ai's own control-flow exceptions (`ModelRetry`, `ToolFailed`,
  deferred calls) pass through unchanged.
- With `timeout`, a call that runs longer fails (sync built-in and plugin tools run on a worker
  thread, off the event loop, as pydantic-ai runs every sync tool).
- An output larger than `max_output_bytes` (as JSON) is cut before it is stored, streamed or given
  to the model, and the cut is said in the output.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.messages import ToolReturn
from pydantic_ai.toolsets import AbstractToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool
from pydantic_core import to_jsonable_python

from ...schemas.safe import readable
from .actions import failure_text

__all__ = ["GuardedToolset", "cap_output", "guard_tools"]


def cap_output(output: Any, max_bytes: int) -> Any:
    """The output as it may be stored, streamed and given to the model: readable (no lone
    surrogates, no JSON deeper than the wire allows) and at most `max_bytes` of JSON."""
    if isinstance(output, ToolReturn):  # its metadata (runtime/attachments) never reaches the model
        return dataclasses.replace(output, return_value=cap_output(output.return_value, max_bytes))
    output = readable(output)
    try:
        text = json.dumps(to_jsonable_python(output), ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = str(output)
    size = len(text.encode("utf-8", "replace"))
    if size <= max_bytes:
        return output
    head = text.encode("utf-8", "replace")[:max_bytes].decode("utf-8", "ignore")
    return f"{head}\n[output cut by the server: {size} bytes, only the first {max_bytes} are shown]"


@dataclass
class GuardedToolset(WrapperToolset[Any]):
    max_output_bytes: int = 100_000
    timeout: float | None = None

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        try:
            if self.timeout is None:
                output = await self.wrapped.call_tool(name, tool_args, ctx, tool)
            else:
                async with asyncio.timeout(self.timeout):
                    output = await self.wrapped.call_tool(name, tool_args, ctx, tool)
        except TimeoutError as exc:
            raise ToolFailed(f"`{name}` did not finish within {self.timeout:g} seconds") from exc
        except Exception as exc:
            if type(exc).__module__.startswith("pydantic_ai"):
                raise  # ModelRetry, ToolFailed, CallDeferred, ApprovalRequired: pydantic-ai's flow
            raise ToolFailed(failure_text(exc)) from exc
        return cap_output(output, self.max_output_bytes)


def guard_tools(
    builtin: AbstractToolset[Any],
    toolsets: list[AbstractToolset[Any]],
    *,
    max_output_bytes: int,
    builtin_timeout: float,
) -> list[AbstractToolset[Any]]:
    """Every tool of a turn, guarded: built-in and plugin tools also with a time limit (actions,
    MCP calls and sources keep their own, per-kind, timeouts)."""
    guarded: list[AbstractToolset[Any]] = [GuardedToolset(builtin, max_output_bytes, builtin_timeout)]
    guarded.extend(GuardedToolset(toolset, max_output_bytes) for toolset in toolsets)
    return guarded
