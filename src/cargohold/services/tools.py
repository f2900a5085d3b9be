"""Workspace webhook tools: create (the signing secret is shown once), read, update, delete; and
the background tool runs they start with `waitUntilFinished: false`."""

from __future__ import annotations

import secrets
import uuid

from ..db.tables import Tool, ToolRun
from ..db.types import utcnow
from ..errors import ToolNotFound, ToolRunNotFound, UrlNotAllowed
from ..runtime.outbound import OutboundRefused, check_url
from ..schemas.tools import SECRET_MASK, ToolCreate, ToolUpdate
from ..state import AppState
from ..store import tools as tool_store
from ..store.workspaces import Principal

__all__ = ["create_tool", "delete_tool", "list_tools", "read_tool", "read_tool_run", "update_tool"]


async def _check_url(state: AppState, url: str) -> None:
    try:
        await check_url(url, state.outbound)
    except OutboundRefused as exc:
        raise UrlNotAllowed(f"`url`: {exc}") from exc


async def create_tool(state: AppState, who: Principal, body: ToolCreate) -> Tool:
    await _check_url(state, body.url)
    now = utcnow()
    tool = Tool(
        uuid=uuid.uuid4(),
        workspace_uuid=who.workspace_uuid,
        user_uuid=who.user_uuid,
        name=body.name,
        description=body.description,
        url=body.url,
        method=body.method,
        input_schema=body.input_schema,
        headers=dict(body.headers),
        signing_secret="whsec_" + secrets.token_urlsafe(32),
        timeout_seconds=body.timeout_seconds,
        created_at=now,
        updated_at=now,
    )
    async with state.sessions() as session, session.begin():
        session.add(tool)
    return tool


async def read_tool(state: AppState, who: Principal, tool_uuid: uuid.UUID) -> Tool:
    async with state.sessions() as session:
        tool = await tool_store.get_tool(session, who.workspace_uuid, tool_uuid)
        if tool is None:
            raise ToolNotFound()
        return tool


async def list_tools(state: AppState, who: Principal, *, limit: int, offset: int) -> list[Tool]:
    async with state.sessions() as session:
        return await tool_store.list_tools(session, who.workspace_uuid, limit=limit, offset=offset)


async def update_tool(state: AppState, who: Principal, tool_uuid: uuid.UUID, body: ToolUpdate) -> Tool:
    if body.url is not None:
        await _check_url(state, body.url)
    async with state.sessions() as session, session.begin():
        tool = await tool_store.get_tool(session, who.workspace_uuid, tool_uuid)
        if tool is None:
            raise ToolNotFound()
        tool.headers = _headers(tool, body)
        for name in ("name", "url", "method", "input_schema", "timeout_seconds"):
            value = getattr(body, name)
            if value is not None:
                setattr(tool, name, value)
        if "description" in body.model_fields_set:
            tool.description = body.description
        tool.updated_at = utcnow()
        await session.flush()
        return tool


def _headers(tool: Tool, body: ToolUpdate) -> dict[str, str]:
    """The headers after `body`. A masked value keeps the stored one while the url stays; when the
    url changes, only headers sent in clear are kept, so a stored secret never goes to a host the
    caller chose without the caller knowing it."""
    stored = dict(tool.headers or {})
    moved = body.url is not None and body.url != tool.url
    if body.headers is None:
        return {} if moved else stored
    if moved:
        return {k: v for k, v in body.headers.items() if v != SECRET_MASK}
    kept = {k: v for k, v in body.headers.items() if v != SECRET_MASK or k in stored}
    return {k: stored[k] if v == SECRET_MASK else v for k, v in kept.items()}


async def delete_tool(state: AppState, who: Principal, tool_uuid: uuid.UUID) -> None:
    async with state.sessions() as session, session.begin():
        tool = await tool_store.get_tool(session, who.workspace_uuid, tool_uuid)
        if tool is None:
            raise ToolNotFound()
        tool.deleted_at = utcnow()


async def read_tool_run(state: AppState, who: Principal, run_uuid: uuid.UUID) -> ToolRun:
    async with state.sessions() as session:
        run = await tool_store.get_tool_run(session, who.workspace_uuid, run_uuid)
        if run is None:
            raise ToolRunNotFound()
        return run
