"""MCP connections: an MCP client's credential as configured (`credential`, what a release or a
message names by its `credentialKey` instead of holding it), and the OAuth token set cargohold keeps
after refreshing it. Every secret column is encrypted at rest (crypto.py).

A connection is keyed by workspace and `credential_key(url, authentication)`: for a token set with
a refresh token `connection_key(url, clientId, refreshToken)`, so every turn with that configuration
finds the refreshed tokens, and a new token set from the client (a new refresh token) starts
afresh. Tokens are secrets: they are read here and sent to the MCP server, never logged or returned
by the API.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import McpConnection
from ..db.types import utcnow

__all__ = [
    "TokenSet",
    "connection_key",
    "credential_key",
    "mark_needs_reauth",
    "read_connection",
    "read_credential",
    "save_credential",
    "save_tokens",
]


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


def credential_key(url: str, authentication: dict[str, Any]) -> str:
    """The key of a configured `authentication` (camelCase): that of its refresh token, so refreshed
    tokens and the credential share a row; else one of its access token."""
    client_id = authentication.get("clientId")
    refresh = authentication.get("refreshToken")
    if refresh:
        return connection_key(url, client_id, str(refresh))
    return connection_key(url, client_id, "access:" + str(authentication.get("accessToken") or ""))


async def save_credential(
    session: AsyncSession, workspace_uuid: uuid.UUID, url: str, authentication: dict[str, Any]
) -> str:
    """Keep a configured credential; its key. The same token set again keeps its refreshed tokens
    and its `needs_reauth` (only a new token set clears that)."""
    key = credential_key(url, authentication)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # Two turns may bring the same new credential at once: one row, whoever inserts first.
    await session.execute(
        insert(McpConnection)
        .values(uuid=uuid.uuid4(), workspace_uuid=workspace_uuid, key=key, url=url, credential=authentication)
        .on_conflict_do_nothing(index_elements=["workspace_uuid", "key"])
    )
    row = await read_connection(session, workspace_uuid, key)
    assert row is not None
    if row.credential != authentication:
        row.credential = authentication
        await session.flush()
    return key


async def read_credential(
    session: AsyncSession, workspace_uuid: uuid.UUID, key: str, url: str
) -> dict[str, Any] | None:
    """The configured credential stored under `key` for this url (a key never serves another url)."""
    row = await read_connection(session, workspace_uuid, key)
    if row is None or row.url != url or row.credential is None:
        return None
    return dict(row.credential)


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
