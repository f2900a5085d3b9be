"""First start: a default workspace, its first user and an API token, printed once."""

from __future__ import annotations

from .db.engine import SessionFactory
from .store.workspaces import create_token, create_workspace, first_workspace

__all__ = ["bootstrap"]


async def bootstrap(sessions: SessionFactory) -> str | None:
    """Create the default workspace if there is none; return its new token (else None)."""
    async with sessions() as session, session.begin():
        if await first_workspace(session) is not None:
            return None
        _, user = await create_workspace(session, "default")
        return await create_token(session, user, name="first start")
