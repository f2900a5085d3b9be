"""Workspaces, users and API tokens. Tokens are stored as SHA-256 hashes only."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import ApiToken, User, Workspace

__all__ = [
    "TOKEN_PREFIX",
    "Principal",
    "authenticate",
    "create_token",
    "create_workspace",
    "first_workspace",
    "hash_token",
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


async def authenticate(session: AsyncSession, token: str) -> Principal | None:
    row = (
        await session.execute(
            sa.select(ApiToken.workspace_uuid, ApiToken.user_uuid).where(
                ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
            )
        )
    ).first()
    return Principal(row.workspace_uuid, row.user_uuid) if row else None
