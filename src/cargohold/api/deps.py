"""Request dependencies: the app state and the caller (every /v1 route requires a token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..errors import Unauthorized
from ..state import AppState
from ..store.workspaces import Principal, authenticate

__all__ = ["MAX_OFFSET", "Caller", "Offset", "State", "get_state", "require_caller"]

_bearer = HTTPBearer(auto_error=False, description="An API token from `cargohold token create`.")


async def get_state(request: Request) -> AppState:
    # async: FastAPI runs a plain `def` dependency in a worker thread, a hand-off per request.
    return request.app.state.cargohold


async def require_caller(
    state: Annotated[AppState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized()
    async with state.read_connection() as conn:
        principal = await authenticate(conn, credentials.credentials)
    if principal is None:
        raise Unauthorized("Invalid API token")
    return principal


State = Annotated[AppState, Depends(get_state)]
Caller = Annotated[Principal, Depends(require_caller)]

MAX_OFFSET = 2**31 - 1
"""The largest `offset` a list takes: beyond int64 SQLite and PostgreSQL fail (a 500, not a 400)."""
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
