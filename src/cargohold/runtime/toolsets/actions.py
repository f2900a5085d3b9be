"""Actions as pydantic-ai toolsets: the parts every kind shares.

A `BoundAction` is an action resolved to something callable (a webhook, a Python function, a
sub-agent, a connector action) plus its JSON Schema. `actions_toolset` makes them one
`FunctionToolset` (each call answers Cargo's tool outcome `{outcome: "executed", data}`, and any
failure becomes a `ToolFailed` the model sees as an error result: the turn goes on), wrapped by
one `WrapperToolset` per behaviour, outermost first:
- `BulkToolset`: with `isBulkAllowed`, the tool takes `{items: [...]}` and runs them with bounded
  concurrency, one output per item;
- `PinnedToolset`: the fields the author pinned in `config` are hidden from the schema and merged
  into each call;
- `BackgroundToolset`: with `waitUntilFinished: false`, the call answers `{outcome: "executing",
  runUuid}` at once and runs in the background.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from pydantic_ai import RunContext, Tool
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.toolsets import AbstractToolset, FunctionToolset, WrapperToolset
from pydantic_ai.toolsets.abstract import ToolsetTool

__all__ = [
    "BackgroundToolset",
    "BoundAction",
    "BulkToolset",
    "Call",
    "PinnedToolset",
    "StartBackground",
    "actions_toolset",
    "failure_text",
    "model_schema",
]

Call = Callable[[dict[str, Any], str], Awaitable[Any]]
"""(input, tool call id) -> output data; raises ToolFailed (or anything) on failure."""
StartBackground = Callable[[str, dict[str, Any], str, Callable[[], Awaitable[Any]]], Awaitable[str]]
"""(tool name, input, tool call id, run) -> run uuid: runs `run()` in the background and records
its result."""

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


def model_schema(schema: dict[str, Any], pinned: dict[str, Any], *, bulk: bool, max_items: int = 100) -> dict[str, Any]:
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


def _with_schema(tool: ToolsetTool[Any], schema: dict[str, Any]) -> ToolsetTool[Any]:
    return dataclasses.replace(tool, tool_def=dataclasses.replace(tool.tool_def, parameters_json_schema=schema))


@dataclass
class PinnedToolset(WrapperToolset[Any]):
    pinned: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per tool name, the input fields its author pinned."""

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        tools = await super().get_tools(ctx)
        return {
            name: _with_schema(tool, model_schema(tool.tool_def.parameters_json_schema, self.pinned[name], bulk=False))
            if name in self.pinned
            else tool
            for name, tool in tools.items()
        }

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        return await super().call_tool(name, {**tool_args, **self.pinned.get(name, {})}, ctx, tool)


@dataclass
class BackgroundToolset(WrapperToolset[Any]):
    names: frozenset[str] = frozenset()
    start: StartBackground | None = None

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        if name not in self.names or self.start is None:
            return await super().call_tool(name, tool_args, ctx, tool)

        async def run() -> Any:
            return (await self.wrapped.call_tool(name, tool_args, ctx, tool))["data"]

        return {"outcome": "executing", "runUuid": await self.start(name, tool_args, ctx.tool_call_id or "", run)}


@dataclass
class BulkToolset(WrapperToolset[Any]):
    names: frozenset[str] = frozenset()
    max_items: int = 100
    concurrency: int = 4

    async def get_tools(self, ctx: RunContext[Any]) -> dict[str, ToolsetTool[Any]]:
        tools = await super().get_tools(ctx)
        return {
            name: _with_schema(
                tool, model_schema(tool.tool_def.parameters_json_schema, {}, bulk=True, max_items=self.max_items)
            )
            if name in self.names
            else tool
            for name, tool in tools.items()
        }

    async def call_tool(
        self, name: str, tool_args: dict[str, Any], ctx: RunContext[Any], tool: ToolsetTool[Any]
    ) -> Any:
        if name not in self.names:
            return await super().call_tool(name, tool_args, ctx, tool)
        items = tool_args.get("items")
        if not isinstance(items, list) or not items:
            raise ToolFailed("a bulk call needs `items`: a non-empty list of inputs")
        if len(items) > self.max_items:
            raise ToolFailed(f"a bulk call takes at most {self.max_items} items; got {len(items)}")
        gate = asyncio.Semaphore(self.concurrency)

        async def item(i: int, args: Any) -> Any:
            if not isinstance(args, dict):
                return {"outcome": "notExecuted", "errorMessage": f"item {i} is not an object"}
            async with gate:
                try:
                    item_ctx = dataclasses.replace(ctx, tool_call_id=f"{ctx.tool_call_id or ''}:{i}")
                    return await super(BulkToolset, self).call_tool(name, args, item_ctx, tool)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    return {"outcome": "notExecuted", "errorMessage": failure_text(exc)}

        return await asyncio.gather(*(item(i, a) for i, a in enumerate(items)))


def input_checker(schema: dict[str, Any]) -> Callable[[dict[str, Any]], str | None]:
    """A check of a tool's input against its JSON Schema: None when it holds, else one sentence
    naming the first field that does not (pydantic-ai passes a schema-only tool's arguments through
    unchecked, and a webhook or Python tool must not get an input its own schema refuses). A schema
    that is not one (it was stored before schemas were checked) checks nothing."""
    try:
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        validator = validator_class(schema)
    except jsonschema.SchemaError:
        return lambda _args: None

    def check(args: dict[str, Any]) -> str | None:
        try:
            error = jsonschema.exceptions.best_match(validator.iter_errors(args))
        except Exception:  # a `$ref` that resolves nowhere, a pattern Python cannot compile: not the input's fault
            return None
        if error is None:
            return None
        where = "/".join(str(part) for part in error.absolute_path)
        message = error.message if len(error.message) <= 300 else error.message[:300] + "..."
        return f"the input does not match the tool's schema{f' at {where!r}' if where else ''}: {message}"

    return check


def _executed(action: BoundAction) -> Tool[Any]:
    checked = input_checker(action.input_schema) if action.input_schema else (lambda _args: None)

    async def run(ctx: RunContext[Any], **kwargs: Any) -> Any:
        if problem := checked(kwargs):
            raise ToolFailed(problem)
        try:
            return {"outcome": "executed", "data": await action.call(kwargs, ctx.tool_call_id or "")}
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise ToolFailed(failure_text(exc)) from exc

    schema = copy.deepcopy(action.input_schema) if action.input_schema else {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    return Tool.from_schema(run, name=action.slug, description=action.description, json_schema=schema, takes_ctx=True)


def actions_toolset(
    actions: list[BoundAction], *, start_background: StartBackground, max_items: int, concurrency: int
) -> AbstractToolset[Any]:
    toolset: AbstractToolset[Any] = FunctionToolset([_executed(a) for a in actions])
    toolset = BackgroundToolset(toolset, frozenset(a.slug for a in actions if not a.wait), start_background)
    toolset = PinnedToolset(toolset, {a.slug: dict(a.pinned) for a in actions if a.pinned})
    return BulkToolset(toolset, frozenset(a.slug for a in actions if a.bulk), max_items, concurrency)
