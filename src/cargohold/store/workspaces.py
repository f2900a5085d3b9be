"""Workspaces, users and API tokens. Tokens are stored as SHA-256 hashes only."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from ..db.tables import ApiToken, User, Workspace
from ..db.types import utcnow

__all__ = [
    "TOKEN_PREFIX",
    "Principal",
    "TokenInfo",
    "WorkspaceInfo",
    "authenticate",
    "create_token",
    "create_workspace",
    "first_workspace",
    "hash_token",
    "list_tokens",
    "list_workspaces",
    "revoke_token",
]

TOKEN_PREFIX = "chk_"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: every query is scoped to `workspace_uuid`."""

    workspace_uuid: uuid.UUID
    user_uuid: uuid.UUID


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_workspace(session: AsyncSession, name: str, user_name: str = "admin") -> tuple[Workspace, User]:
    workspace = Workspace(uuid=uuid.uuid4(), name=name)
    user = User(uuid=uuid.uuid4(), workspace_uuid=workspace.uuid, name=user_name)
    session.add(workspace)
    await session.flush()
    session.add(user)
    await session.flush()
    return workspace, user


async def first_workspace(
    session: AsyncSession, workspace_uuid: uuid.UUID | None = None
) -> tuple[Workspace, User] | None:
    """The oldest workspace (or the one given) with its first user."""
    query = sa.select(Workspace, User).join(User, User.workspace_uuid == Workspace.uuid)
    if workspace_uuid is not None:
        query = query.where(Workspace.uuid == workspace_uuid)
    row = (await session.execute(query.order_by(Workspace.created_at, User.created_at).limit(1))).first()
    return (row[0], row[1]) if row else None


async def create_token(session: AsyncSession, user: User, name: str | None = None) -> str:
    """Create a token and return it in clear: the only time it is ever seen."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            uuid=uuid.uuid4(),
            workspace_uuid=user.workspace_uuid,
            user_uuid=user.uuid,
            token_hash=hash_token(token),
            prefix=token[:10],
            name=name,
        )
    )
    await session.flush()
    return token


async def authenticate(session: AsyncSession | AsyncConnection, token: str) -> Principal | None:
    """The token's workspace and user, if it is a live token. Takes a plain connection too: on a
    request's path it is one statement, and an ORM session only adds work around it."""
    row = (await session.execute(_BY_TOKEN, {"token_hash": hash_token(token)})).first()
    return Principal(row.workspace_uuid, row.user_uuid) if row else None


# Built once, not per call: building a statement and its cache key takes ~140 us, more than
# running it (AGENTS.md, "Statements on the hot path").
_BY_TOKEN = sa.select(ApiToken.workspace_uuid, ApiToken.user_uuid).where(
    ApiToken.token_hash == sa.bindparam("token_hash"), ApiToken.revoked_at.is_(None)
)


@dataclass(frozen=True, slots=True)
class WorkspaceInfo:
    uuid: UUID
    name: str
    created_at: datetime
    active_tokens: int


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown of a token: never the token, nor its hash."""

    uuid: UUID
    workspace_uuid: UUID
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


async def list_workspaces(session: AsyncSession) -> list[WorkspaceInfo]:
    """Every workspace, oldest first, with how many unrevoked tokens it has."""
    active = (
        sa.select(sa.func.count(ApiToken.uuid))
        .where(ApiToken.workspace_uuid == Workspace.uuid, ApiToken.revoked_at.is_(None))
        .scalar_subquery()
    )
    rows = await session.execute(
        sa.select(Workspace.uuid, Workspace.name, Workspace.created_at, active).order_by(
            Workspace.created_at, Workspace.uuid
        )
    )
    return [WorkspaceInfo(row[0], row[1], row[2], int(row[3])) for row in rows]


async def list_tokens(session: AsyncSession, workspace_uuid: uuid.UUID | None = None) -> list[TokenInfo]:
    """The tokens (of one workspace, or all), oldest first; revoked ones included."""
    query = sa.select(ApiToken.uuid, ApiToken.workspace_uuid, ApiToken.name, ApiToken.created_at, ApiToken.revoked_at)
    if workspace_uuid is not None:
        query = query.where(ApiToken.workspace_uuid == workspace_uuid)
    rows = await session.execute(query.order_by(ApiToken.created_at, ApiToken.uuid))
    return [TokenInfo(*row) for row in rows]


async def revoke_token(session: AsyncSession, token_uuid: uuid.UUID) -> TokenInfo | None:
    """Mark a token revoked (from the next request on, `authenticate` refuses it). Revoking it
    again keeps the first time. None when there is no such token."""
    token = await session.get(ApiToken, token_uuid)
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        await session.flush()
    return TokenInfo(token.uuid, token.workspace_uuid, token.name, token.created_at, token.revoked_at)
