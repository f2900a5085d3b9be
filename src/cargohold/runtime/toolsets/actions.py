"""Actions as pydantic-ai tools: the parts every kind shares.

A `BoundAction` is an action resolved to something callable (a webhook, a Python function, a
sub-agent, a connector action) plus its JSON Schema. `action_tool` turns it into a tool that
- hides the fields the author pinned in `config` from the schema and merges them into each call,
- with `isBulkAllowed`, takes `{items: [...]}` and runs them with bounded concurrency, one output
  per item,
- with `waitUntilFinished: false`, answers `{outcome: "executing", runUuid}` at once,
- answers `{outcome: "executed", data}` (Cargo's tool outcome), and turns any failure into a
  `ToolFailed` the model sees as an error result (an `output-error` part): the turn goes on.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import RunContext, Tool
from pydantic_ai.exceptions import ToolFailed

__all__ = ["BoundAction", "Call", "StartBackground", "action_tool", "failure_text", "model_schema"]

Call = Callable[[dict[str, Any], str], Awaitable[Any]]
"""(input, tool call id) -> output data; raises ToolFailed (or anything) on failure."""
StartBackground = Callable[[dict[str, Any], str, Call], Awaitable[str]]
"""(input, tool call id, call) -> run uuid: runs `call` in the background and records its result."""

_MAX_ERROR = 2000


@dataclass(slots=True)
class BoundAction:
    slug: str
    description: str
    input_schema: dict[str, Any]
    call: Call
    evaluated: dict[str, Any]
    """The `message.evaluatedTools[slug]` entry: where this tool comes from."""
    pinned: dict[str, Any] = field(default_factory=dict)
    bulk: bool = False
    wait: bool = True


def failure_text(exc: BaseException) -> str:
    if isinstance(exc, ToolFailed):
        return exc.message
    if isinstance(exc, TimeoutError):
        return "the tool timed out"
    text = str(exc) or type(exc).__name__
    return text if len(text) <= _MAX_ERROR else text[:_MAX_ERROR] + "..."


def model_schema(schema: dict[str, Any], pinned: dict[str, Any], *, bulk: bool, max_items: int) -> dict[str, Any]:
    """The schema the model sees: pinned fields removed; a list of such inputs when bulk."""
    item = copy.deepcopy(schema) if schema else {"type": "object", "properties": {}}
    item.setdefault("type", "object")
    props = item.get("properties")
    if isinstance(props, dict):
        for name in pinned:
            props.pop(name, None)
    if isinstance(item.get("required"), list):
        item["required"] = [r for r in item["required"] if r not in pinned]
        if not item["required"]:
            del item["required"]
    if not bulk:
        return item
    defs = item.pop("$defs", None)
    wrapped: dict[str, Any] = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": item,
                "minItems": 1,
                "maxItems": max_items,
                "description": "One input per item; each runs separately and gets its own output.",
            }
        },
        "required": ["items"],
        "additionalProperties": False,
    }
    if defs:
        wrapped["$defs"] = defs
    return wrapped


def action_tool(
    action: BoundAction, *, start_background: StartBackground, max_items: int, concurrency: int
) -> Tool[Any]:
    async def call_one(args: dict[str, Any], call_id: str) -> Any:
        merged = {**args, **action.pinned}
        if not action.wait:
            run_uuid = await start_background(merged, call_id, action.call)
            return {"outcome": "executing", "runUuid": run_uuid}
        return {"outcome": "executed", "data": await action.call(merged, call_id)}

    async def run(ctx: RunContext[Any], **kwargs: Any) -> Any:
        call_id = ctx.tool_call_id or ""
        if not action.bulk:
            try:
                return await call_one(kwargs, call_id)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                raise ToolFailed(failure_text(exc)) from exc
        items = kwargs.get("items")
        if not isinstance(items, list) or not items:
            raise ToolFailed("a bulk call needs `items`: a non-empty list of inputs")
        if len(items) > max_items:
            raise ToolFailed(f"a bulk call takes at most {max_items} items; got {len(items)}")
        gate = asyncio.Semaphore(concurrency)

        async def item(i: int, args: Any) -> Any:
            if not isinstance(args, dict):
                return {"outcome": "notExecuted", "errorMessage": f"item {i} is not an object"}
            async with gate:
                try:
                    return await call_one(args, f"{call_id}:{i}")
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    return {"outcome": "notExecuted", "errorMessage": failure_text(exc)}

        return await asyncio.gather(*(item(i, a) for i, a in enumerate(items)))

    schema = model_schema(action.input_schema, action.pinned, bulk=action.bulk, max_items=max_items)
    return Tool.from_schema(run, name=action.slug, description=action.description, json_schema=schema, takes_ctx=True)
