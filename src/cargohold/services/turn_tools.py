"""What a turn may call: its actions bound to this workspace's webhook tools, agents, Python tools
and connectors, plus its MCP clients. Built when the turn starts; closed when it ends.

Every tool the model sees is recorded in `evaluated` (-> `message.evaluatedTools`), keyed by the
tool name, with its origin (Cargo's EvaluatedTool). An action that cannot be bound (a deleted
tool, an unknown connector) or an MCP server that cannot be reached is left out and reported in
`errors`, which the turn shows as a `data-tool-error` part: the turn goes on without it.
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from pydantic_ai import Tool
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.toolsets import AbstractToolset

from ..runtime.credits import UsageRecord
from ..runtime.plugins import ActionContext
from ..runtime.toolsets.actions import BoundAction, Call, StartBackground, actions_toolset
from ..runtime.toolsets.webhook import WebhookCall, call_webhook
from ..schemas.actions import AgentAction, ConnectorAction, ToolAction, parse_actions
from ..store import agents as agent_store
from ..store import tools as tool_store
from .ports import TurnDeps

__all__ = ["NO_AGENT", "AskAgent", "TurnScope", "TurnTools", "build_turn_tools"]

NO_AGENT = uuid.UUID(int=0)
SUBAGENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"prompt": {"type": "string", "description": "What to ask the agent, with all it needs to know."}},
    "required": ["prompt"],
    "additionalProperties": False,
}


AskAgent = Callable[["TurnScope", uuid.UUID, str, str], Awaitable[str]]
"""(scope, agent uuid, prompt, tool call id) -> the agent's answer: runs an agent action
(`services.subagents`; on Temporal, a child workflow keyed by the tool call)."""


@dataclass(slots=True)
class TurnScope:
    """Who a turn runs for, and how deep in a chain of agents calling agents it is."""

    deps: TurnDeps
    workspace_uuid: uuid.UUID
    chat_uuid: uuid.UUID
    message_uuid: uuid.UUID
    ask_agent: AskAgent | None = None
    chain: tuple[uuid.UUID, ...] = (NO_AGENT,)
    """The agents running, outermost first (`NO_AGENT` for a turn with no agent): an agent already
    in it may not be called again."""
    sub_usage: list[UsageRecord] = field(default_factory=list)
    """Usage records of sub-agent turns, added to the message's usage and credits."""
    mcp_server_uuid: uuid.UUID | None = None
    """Set when an outside MCP client calls the tool on a hosted MCP server: there is no chat, and
    `message_uuid` is the call's uuid (`mcp_server_calls`)."""

    def webhook_context(self, call_id: str) -> dict[str, str]:
        """What a webhook is told about the call (its `context`)."""
        if self.mcp_server_uuid is not None:
            return {
                "workspaceUuid": str(self.workspace_uuid),
                "mcpServerUuid": str(self.mcp_server_uuid),
                "mcpCallUuid": str(self.message_uuid),
                "toolCallId": call_id,
            }
        return {
            "workspaceUuid": str(self.workspace_uuid),
            "chatUuid": str(self.chat_uuid),
            "messageUuid": str(self.message_uuid),
            "toolCallId": call_id,
        }

    @property
    def depth(self) -> int:
        return len(self.chain) - 1


@dataclass(slots=True)
class TurnTools:
    toolsets: list[AbstractToolset[Any]] = field(default_factory=list)
    evaluated: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    _closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in reversed(self._closers):
            with suppress(Exception):  # closing an MCP session that already broke
                await close()
        self._closers.clear()


async def build_turn_tools(
    scope: TurnScope, actions: list[dict[str, Any]], mcp_clients: list[dict[str, Any]]
) -> TurnTools:
    result = TurnTools()
    try:
        bound_actions: list[BoundAction] = []
        for action in parse_actions(actions):
            try:
                bound = await _bind(scope, action)
            except ToolFailed as exc:
                result.errors.append({"name": action.slug, "kind": "action", "errorMessage": exc.message})
                continue
            bound_actions.append(bound)
            result.evaluated[bound.slug] = bound.evaluated
        if bound_actions:
            result.toolsets.append(
                actions_toolset(
                    bound_actions,
                    start_background=_background_starter(scope),
                    max_items=scope.deps.settings.tool_bulk_max_items,
                    concurrency=scope.deps.settings.tool_bulk_concurrency,
                )
            )
        if mcp_clients:
            # The MCP client stack (fastmcp, mcp) takes seconds to import: off the event loop, so
            # the first MCP turn does not stall the others (nor a Temporal worker's heartbeats).
            mcp = await asyncio.to_thread(importlib.import_module, MCP_MODULE)
            open_mcp_clients = mcp.open_mcp_clients
            setup = await open_mcp_clients(
                mcp_clients,
                settings=scope.deps.settings,
                sessions=scope.deps.sessions,
                workspace_uuid=scope.workspace_uuid,
            )
            result._closers.append(setup.aclose)
            result.toolsets.extend(setup.toolsets)
            result.evaluated.update(setup.evaluated_tools)
            result.errors.extend(
                {"name": e.get("mcpClient"), "kind": "mcpClient", "errorMessage": e.get("errorMessage")}
                for e in setup.errors
            )
    except BaseException:
        await result.aclose()
        raise
    return result


MCP_MODULE = "cargohold.runtime.toolsets.mcp"


def _background_starter(scope: TurnScope) -> StartBackground:
    async def start(slug: str, args: dict[str, Any], call_id: str, run: Callable[[], Awaitable[Any]]) -> str:
        run_uuid = await scope.deps.tool_runs.start(
            workspace_uuid=scope.workspace_uuid,
            message_uuid=scope.message_uuid,
            tool_call_id=call_id,
            slug=slug,
            args=args,
            call=run,
        )
        return str(run_uuid)

    return start


async def _bind(scope: TurnScope, action: ToolAction | AgentAction | ConnectorAction) -> BoundAction:
    if isinstance(action, ToolAction):
        return await _bind_tool(scope, action)
    if isinstance(action, AgentAction):
        return await _bind_agent(scope, action)
    return _bind_connector(scope, action)


def _common(action: ToolAction | AgentAction | ConnectorAction) -> dict[str, Any]:
    return {"pinned": dict(action.config), "bulk": action.is_bulk_allowed}


async def _bind_tool(scope: TurnScope, action: ToolAction) -> BoundAction:
    deps = scope.deps
    wait = action.wait_until_finished
    if action.tool_uuid is None:
        name = action.template_slug or action.slug
        tool = deps.plugins.tools.get(name)
        if tool is None:
            raise ToolFailed(f"no Python tool {name!r} is installed (entry point group `cargohold.tools`)")
        evaluated = {"kind": "tool", "name": action.name or name, "toolUuid": None, "isBulk": action.is_bulk_allowed}
        return BoundAction(
            slug=action.slug,
            description=action.description or tool.description or name,
            input_schema=tool.tool_def.parameters_json_schema,
            call=_python_call(tool),
            evaluated=evaluated,
            wait=wait,
            **_common(action),
        )
    async with deps.sessions() as session:
        row = await tool_store.get_tool(session, scope.workspace_uuid, action.tool_uuid)
        if row is None:
            raise ToolFailed(f"tool {action.tool_uuid} does not exist in this workspace (deleted?)")
        hook = WebhookCall(
            url=row.url,
            method=row.method,
            headers=dict(row.headers or {}),
            signing_secret=row.signing_secret,
            timeout=row.timeout_seconds or deps.settings.outbound_timeout,
            max_response_bytes=deps.settings.max_webhook_response_bytes,
        )
        name, description, schema = row.name, row.description, row.input_schema

    async def call(args: dict[str, Any], call_id: str) -> Any:
        return await call_webhook(scope.deps.http, hook, {"input": args, "context": scope.webhook_context(call_id)})

    return BoundAction(
        slug=action.slug,
        description=action.description or description or name,
        input_schema=schema,
        call=call,
        evaluated={
            "kind": "tool",
            "name": action.name or name,
            "toolUuid": str(action.tool_uuid),
            "isBulk": action.is_bulk_allowed,
        },
        wait=wait,
        **_common(action),
    )


def _python_call(tool: Tool[Any]) -> Call:
    schema = tool.function_schema

    async def call(args: dict[str, Any], call_id: str) -> Any:
        try:
            validated = schema.validator.validate_python(args)
        except ValueError as exc:
            raise ToolFailed(f"invalid input: {exc}") from exc
        return await schema.call(validated, None)  # type: ignore[arg-type]  # plugin tools take no RunContext

    return call


async def _bind_agent(scope: TurnScope, action: AgentAction) -> BoundAction:
    if action.agent_uuid is None:
        raise ToolFailed("an agent action needs `agentUuid` (templates are not installed here)")
    async with scope.deps.sessions() as session:
        agent = await agent_store.get_agent(session, scope.workspace_uuid, action.agent_uuid)
        if agent is None:
            raise ToolFailed(f"agent {action.agent_uuid} does not exist in this workspace (deleted?)")
        name, description = agent.name, agent.description
    agent_uuid = action.agent_uuid
    ask_agent = scope.ask_agent
    if ask_agent is None:
        raise ToolFailed("agents cannot be called from here")

    async def call(args: dict[str, Any], call_id: str) -> Any:
        prompt = args.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise ToolFailed("`prompt` must be a non-empty string")
        extra = {k: v for k, v in args.items() if k != "prompt"}
        if extra:  # pinned config values reach the sub-agent as context
            prompt += "\n\n" + "\n".join(f"{k}: {v}" for k, v in extra.items())
        return await ask_agent(scope, agent_uuid, prompt, call_id)

    return BoundAction(
        slug=action.slug,
        description=action.description or description or f"Ask the agent {name!r}; it answers in text.",
        input_schema=SUBAGENT_SCHEMA,
        call=call,
        evaluated={
            "kind": "agent",
            "name": action.name or name,
            "agentUuid": str(agent_uuid),
            "isBulk": action.is_bulk_allowed,
        },
        wait=action.wait_until_finished,
        **_common(action),
    )


def _bind_connector(scope: TurnScope, action: ConnectorAction) -> BoundAction:
    connector = scope.deps.plugins.connectors.get(action.integration_slug)
    if connector is None:
        raise ToolFailed(f"no connector {action.integration_slug!r} is installed (`cargohold.connectors`)")
    spec = connector.actions.get(action.action_slug)
    if spec is None:
        raise ToolFailed(f"connector {connector.slug!r} has no action {action.action_slug!r}")
    timeout = scope.deps.settings.outbound_timeout

    async def call(args: dict[str, Any], call_id: str) -> Any:
        ctx = ActionContext(
            scope.workspace_uuid, scope.chat_uuid, scope.message_uuid, call_id, scope.deps.http, timeout
        )
        try:
            async with asyncio.timeout(timeout):
                return await spec.run(args, ctx)
        except TimeoutError as exc:
            raise ToolFailed(f"{connector.slug}.{spec.slug} did not finish within {timeout:g}s") from exc

    return BoundAction(
        slug=action.slug,
        description=action.description or spec.description,
        input_schema=spec.input_schema,
        call=call,
        evaluated={
            "kind": "connector",
            "name": action.name or f"{connector.name}: {spec.slug}",
            "integrationSlug": connector.slug,
            "connectorUuid": str(action.connector_uuid) if action.connector_uuid else None,
            "actionSlug": spec.slug,
            "isBulk": action.is_bulk_allowed,
        },
        **_common(action),
    )
