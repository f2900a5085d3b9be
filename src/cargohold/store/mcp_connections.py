"""MCP connections: the OAuth token set cargohold keeps for an MCP client after refreshing it.

A connection is keyed by workspace and `connection_key(url, clientId, refreshToken)` of the token
set as the client configured it, so every turn with that configuration finds the refreshed tokens,
and a new token set from the client (a new refresh token) starts afresh. Tokens are secrets: they
are read here and sent to the MCP server, never logged or returned by the API.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import McpConnection
from ..db.types import utcnow

__all__ = ["TokenSet", "connection_key", "mark_needs_reauth", "read_connection", "save_tokens"]


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    token_type: str | None = None
    scope: str | None = None


def connection_key(url: str, client_id: str | None, refresh_token: str) -> str:
    """A stable, non-reversible key of a configured credential."""
    return hashlib.sha256(json.dumps([url, client_id or "", refresh_token]).encode()).hexdigest()


async def read_connection(session: AsyncSession, workspace_uuid: uuid.UUID, key: str) -> McpConnection | None:
    query = sa.select(McpConnection).where(McpConnection.workspace_uuid == workspace_uuid, McpConnection.key == key)
    return (await session.execute(query)).scalar_one_or_none()


async def _get_or_add(session: AsyncSession, workspace_uuid: uuid.UUID, key: str, url: str) -> McpConnection:
    row = await read_connection(session, workspace_uuid, key)
    if row is None:
        row = McpConnection(uuid=uuid.uuid4(), workspace_uuid=workspace_uuid, key=key, url=url, needs_reauth=False)
        session.add(row)
    return row


async def save_tokens(
    session: AsyncSession, workspace_uuid: uuid.UUID, key: str, url: str, tokens: TokenSet
) -> McpConnection:
    """Store a refreshed token set (the connection is usable again)."""
    row = await _get_or_add(session, workspace_uuid, key, url)
    row.access_token = tokens.access_token
    row.refresh_token = tokens.refresh_token
    row.expires_at = tokens.expires_at
    row.token_type = tokens.token_type
    row.scope = tokens.scope
    row.needs_reauth = False
    row.error_message = None
    row.refreshed_at = utcnow()
    await session.flush()
    return row


async def mark_needs_reauth(
    session: AsyncSession, workspace_uuid: uuid.UUID, key: str, url: str, message: str
) -> McpConnection:
    """The authorization server refused the refresh token: only new tokens from the client help."""
    row = await _get_or_add(session, workspace_uuid, key, url)
    row.needs_reauth = True
    row.error_message = message
    row.access_token = None
    row.refresh_token = None
    await session.flush()
    return row
