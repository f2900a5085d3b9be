"""Hosted MCP servers (cargo-ai-api §1.6): a chosen set of the workspace's actions and resources,
served as MCP tools at `/v1/ai/mcpServers/{uuid}/mcp` (`api/mcp_host.py`).

A tool call runs exactly as in a turn: the actions are bound by `turn_tools.build_turn_tools` (the
outbound guard, webhook signing and timeouts, pinned config, bulk, background runs, agent actions
as sub-agents), the resources by `runtime.sources.build_sources`, and every call goes through the
turn's guard (`runtime/toolsets/hosted.py`). Each call is recorded in `mcp_server_calls` with the
credits it used (an agent action's model usage). There is no chat: the webhook is told the server
and the call instead (`TurnScope.webhook_context`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pydantic_ai.tools import ToolDefinition
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import McpServer, McpServerCall
from ..db.types import utcnow
from ..errors import BadRequest, McpServerIsReadOnly, McpServerNotFound
from ..runtime.context import ToolSource, TurnContext
from ..runtime.credits import UsageRecord, add_usage
from ..runtime.sources import build_sources
from ..runtime.toolsets.hosted import HostedTools, ToolOutcome
from ..schemas.mcp_servers import McpServerCreate, McpServerUpdate
from ..schemas.secrets import restore_actions
from ..state import AppState
from ..store import mcp_servers as store
from ..store.workspaces import Principal
from .config import check_actions, check_resources
from .subagents import run_subagent
from .turn_tools import TurnScope, TurnTools, build_turn_tools

__all__ = [
    "call_hosted_tool",
    "create_server",
    "delete_server",
    "hosted_tool_definitions",
    "list_calls",
    "list_servers",
    "read_server",
    "update_server",
]

log = logging.getLogger(__name__)
NO_CHAT = uuid.UUID(int=0)


async def _require(
    session: AsyncSession, who: Principal, server_uuid: uuid.UUID, *, for_update: bool = False
) -> McpServer:
    server = await store.get_server(session, who.workspace_uuid, server_uuid, for_update=for_update)
    if server is None:
        raise McpServerNotFound(f"MCP server {server_uuid} not found")
    return server


def _refuse_clashes(actions: list[dict[str, Any]], resources: list[dict[str, Any]]) -> None:
    """Every tool of the server needs its own name: an action's slug may not be a resource's tool."""
    resource_tools = {name for r in resources for name in (r["slug"], f"{r['slug']}_create", f"{r['slug']}_update")}
    for action in actions:
        if action["slug"] in resource_tools:
            raise BadRequest(
                f"action `{action['slug']}`: the name is taken by a resource's tool on this server; choose another"
            )


async def create_server(state: AppState, who: Principal, body: McpServerCreate) -> McpServer:
    now = utcnow()
    async with state.sessions() as session, session.begin():
        actions = await check_actions(state, session, who.workspace_uuid, body.effective_actions or [])
        resources = await check_resources(state, session, who.workspace_uuid, body.resources or [])
        _refuse_clashes(actions, resources)
        server = McpServer(
            uuid=uuid.uuid4(),
            workspace_uuid=who.workspace_uuid,
            user_uuid=who.user_uuid,
            name=body.name,
            description=body.description,
            actions=actions,
            resources=resources,
            folder_uuid=body.folder_uuid,
            template_slug=None,
            is_read_only=False,
            created_at=now,
            updated_at=now,
        )
        session.add(server)
        await session.flush()
        return server


async def list_servers(state: AppState, who: Principal) -> list[McpServer]:
    async with state.sessions() as session:
        return await store.list_servers(session, who.workspace_uuid)


async def read_server(state: AppState, who: Principal, server_uuid: uuid.UUID) -> McpServer:
    async with state.sessions() as session:
        return await _require(session, who, server_uuid)


async def update_server(state: AppState, who: Principal, server_uuid: uuid.UUID, body: McpServerUpdate) -> McpServer:
    given = body.model_fields_set
    async with state.sessions() as session, session.begin():
        server = await _require(session, who, server_uuid, for_update=True)
        if server.is_read_only:
            raise McpServerIsReadOnly()
        actions, resources = server.actions or [], server.resources or []
        if body.effective_actions is not None:
            restored = restore_actions(body.effective_actions, actions) or []
            actions = await check_actions(state, session, who.workspace_uuid, restored)
        if body.resources is not None:
            resources = await check_resources(state, session, who.workspace_uuid, body.resources)
        _refuse_clashes(actions, resources)
        server.actions, server.resources = actions, resources
        if body.name is not None:
            server.name = body.name
        if "description" in given:
            server.description = body.description
        if "folder_uuid" in given:
            server.folder_uuid = body.folder_uuid
        server.updated_at = utcnow()
        await session.flush()
        return server


async def delete_server(state: AppState, who: Principal, server_uuid: uuid.UUID) -> None:
    async with state.sessions() as session, session.begin():
        server = await _require(session, who, server_uuid, for_update=True)
        if server.is_read_only:
            raise McpServerIsReadOnly()
        server.deleted_at = utcnow()


async def list_calls(
    state: AppState, who: Principal, server_uuid: uuid.UUID, *, limit: int, offset: int
) -> list[McpServerCall]:
    async with state.sessions() as session:
        await _require(session, who, server_uuid)
        return await store.list_calls(session, who.workspace_uuid, server_uuid, limit=limit, offset=offset)


async def _no_chunks(chunk: dict[str, Any]) -> None:
    """A hosted call has no stream: what a resource would add to one is dropped."""


@asynccontextmanager
async def _hosted(
    state: AppState, who: Principal, server_uuid: uuid.UUID, call_uuid: uuid.UUID
) -> AsyncIterator[tuple[HostedTools, TurnScope]]:
    async with state.sessions() as session:
        server = await _require(session, who, server_uuid)
        actions, resources = list(server.actions or []), list(server.resources or [])
    deps = state.turn_deps()
    scope = TurnScope(deps, who.workspace_uuid, NO_CHAT, call_uuid, ask_agent=run_subagent, mcp_server_uuid=server_uuid)
    tools, sources = TurnTools(), ToolSource()
    try:
        tools = await build_turn_tools(scope, actions, [])
        ctx = TurnContext(
            workspace_uuid=who.workspace_uuid,
            chat_uuid=NO_CHAT,
            message_uuid=call_uuid,
            user_uuid=who.user_uuid,
            agent_uuid=None,
            user_text="",
            settings=state.settings,
            sessions=state.sessions,
            http=state.http,
            emit=_no_chunks,
        )
        sources = await build_sources(resources, [], ctx)
        for error in [*tools.errors, *sources.errors]:  # a deleted tool or model: left out, as in a turn
            log.warning(
                "MCP server %s: %s %s left out: %s", server_uuid, error["kind"], error["name"], error["errorMessage"]
            )
        hosted = HostedTools(
            [*tools.toolsets, *sources.toolsets], max_output_bytes=state.settings.max_tool_output_bytes
        )
        yield hosted, scope
    finally:
        await tools.aclose()
        await sources.aclose()


async def hosted_tool_definitions(state: AppState, who: Principal, server_uuid: uuid.UUID) -> list[ToolDefinition]:
    async with _hosted(state, who, server_uuid, uuid.uuid4()) as (hosted, _):
        return await hosted.definitions()


async def call_hosted_tool(
    state: AppState, who: Principal, server_uuid: uuid.UUID, name: str, args: dict[str, Any]
) -> ToolOutcome:
    call_uuid = uuid.uuid4()
    started = utcnow()
    async with _hosted(state, who, server_uuid, call_uuid) as (hosted, scope):
        outcome = await hosted.call(name, args, str(call_uuid))
    usage = add_usage(UsageRecord(), scope.sub_usage) if scope.sub_usage else None
    async with state.sessions() as session, session.begin():
        session.add(
            McpServerCall(
                uuid=call_uuid,
                workspace_uuid=who.workspace_uuid,
                mcp_server_uuid=server_uuid,
                user_uuid=who.user_uuid,
                tool_name=name[:200],
                status="failed" if outcome.error is not None else "executed",
                error_message=outcome.error,
                usage=usage.wire() if usage is not None else None,
                credits_used_count=usage.credits_used_count if usage is not None else 0.0,
                created_at=started,
                finished_at=utcnow(),
            )
        )
    return outcome
