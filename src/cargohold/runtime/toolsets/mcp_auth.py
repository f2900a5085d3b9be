"""An MCP client's OAuth credential: refreshed before it expires, once per connection.

The token set a client configured is superseded by the one stored in `mcp_connections` (keyed by
workspace and the configured credential), so a refresh done by one turn serves every later turn.
Refreshes are single-flight: an asyncio lock per connection key in this process, and the stored
row is read again under the lock, so a set another turn (or another process) refreshed meanwhile
is used instead of refreshing twice. `invalid_grant` marks the connection as needing new
authentication; nothing but a new token set from the client clears it.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta

import anyio
import httpx2

from ...db.engine import SessionFactory
from ...schemas.mcp_clients import McpAuthentication
from ...store import mcp_connections as store
from ...store.mcp_connections import TokenSet
from ..outbound import AllowList, guarded_client
from .oauth import OAuthError, discover_token_endpoint, refresh_grant

__all__ = ["BearerFlow", "NeedsReauth", "OAuthCredential", "RefreshFailed"]

REFRESH_MARGIN = timedelta(seconds=30)
"""A token this close to its expiry is refreshed before use."""

_locks: weakref.WeakValueDictionary[tuple[uuid.UUID, str], anyio.Lock] = weakref.WeakValueDictionary()


def _lock(workspace_uuid: uuid.UUID, key: str) -> anyio.Lock:
    lock = _locks.get((workspace_uuid, key))
    if lock is None:
        lock = _locks[(workspace_uuid, key)] = anyio.Lock()
    return lock


class NeedsReauth(Exception):
    """The refresh token was refused: the MCP client must be authenticated again."""


class RefreshFailed(Exception):
    """The token could not be refreshed this time (unreachable, timeout, a server error)."""


class OAuthCredential:
    """The current token set of one MCP client in one workspace."""

    def __init__(
        self,
        *,
        client_name: str,
        url: str,
        auth: McpAuthentication,
        workspace_uuid: uuid.UUID,
        sessions: SessionFactory,
        allow: AllowList,
        timeout: float,
    ) -> None:
        self.client_name = client_name
        self.url = url
        self.workspace_uuid = workspace_uuid
        self._auth = auth
        self._sessions = sessions
        self._allow = allow
        self._timeout = timeout
        self.key = store.connection_key(url, auth.client_id, auth.refresh_token) if auth.refresh_token else None
        self.current = TokenSet(
            access_token=auth.access_token,
            refresh_token=auth.refresh_token,
            expires_at=auth.expires_at(),
            token_type=auth.token_type,
            scope=auth.scope,
        )
        self.refreshes = 0
        """Refresh grants this credential made (tests count them)."""
        self.failure: NeedsReauth | RefreshFailed | None = None
        """Why the last refresh during a request failed, to tell the model instead of the SDK's words."""

    @property
    def can_refresh(self) -> bool:
        return self.key is not None and self.current.refresh_token is not None

    def due(self, now: datetime | None = None) -> bool:
        expires_at = self.current.expires_at
        return expires_at is not None and expires_at - REFRESH_MARGIN <= (now or datetime.now(UTC))

    def _reauth_message(self, detail: str = "the refresh token was refused (invalid_grant)") -> str:
        return f"MCP client {self.client_name} needs to be re-authenticated: {detail}"

    async def load(self) -> None:
        """Adopt the stored token set, if a turn refreshed this credential before."""
        if self.key is None:
            return
        async with self._sessions() as session:
            row = await store.read_connection(session, self.workspace_uuid, self.key)
        if row is None:
            return
        if row.needs_reauth:
            raise NeedsReauth(row.error_message or self._reauth_message())
        if row.access_token:
            self.current = TokenSet(row.access_token, row.refresh_token, row.expires_at, row.token_type, row.scope)

    async def access_token(self) -> str:
        """A token that is not about to expire (refreshed first when it is and it can be)."""
        if self.due() and self.can_refresh:
            await self.refresh()
        return self.current.access_token

    async def refresh(self, *, rejected: str | None = None) -> None:
        """Refresh once for everyone waiting. `rejected`: the server refused this access token
        (a 401), so refresh even if it looks valid, unless another caller already replaced it."""
        assert self.key is not None
        async with _lock(self.workspace_uuid, self.key):
            await self.load()  # a set stored meanwhile by another turn or process
            if rejected is not None:
                if self.current.access_token != rejected:
                    return
            elif not self.due():
                return
            refresh_token = self.current.refresh_token
            if refresh_token is None:
                raise RefreshFailed(f"MCP client {self.client_name}: the token expired and there is no refresh token")
            try:
                tokens = await self._grant(refresh_token)
            except OAuthError as exc:
                if exc.code == "invalid_grant":
                    message = self._reauth_message()
                    async with self._sessions() as session, session.begin():
                        await store.mark_needs_reauth(session, self.workspace_uuid, self.key, self.url, message)
                    raise NeedsReauth(message) from None
                raise RefreshFailed(f"MCP client {self.client_name}: could not refresh its token: {exc}") from exc
            async with self._sessions() as session, session.begin():
                await store.save_tokens(session, self.workspace_uuid, self.key, self.url, tokens)
            self.current = tokens
            self.refreshes += 1

    async def _grant(self, refresh_token: str) -> TokenSet:
        async with guarded_client(self._allow, timeout=self._timeout) as client:
            with anyio.fail_after(self._timeout * 2):
                endpoint = await discover_token_endpoint(client, self.url)
                return await refresh_grant(
                    client,
                    endpoint,
                    refresh_token=refresh_token,
                    client_id=self._auth.client_id,
                    client_secret=self._auth.client_secret,
                    resource=self.url,
                    scope=self.current.scope,
                )


class BearerFlow(httpx2.Auth):
    """Sends the credential's current token; refreshes before a request when it is due, and once
    more after a 401 (a token revoked or expired early)."""

    def __init__(self, credential: OAuthCredential) -> None:
        self.credential = credential

    async def async_auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        try:
            token = await self.credential.access_token()
        except (NeedsReauth, RefreshFailed) as exc:
            self.credential.failure = exc  # the MCP SDK reports only "Connection closed"
            raise
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401 and self.credential.can_refresh:
            await response.aread()
            try:
                await self.credential.refresh(rejected=token)
            except (NeedsReauth, RefreshFailed) as exc:
                self.credential.failure = exc
                raise
            request.headers["Authorization"] = f"Bearer {self.credential.current.access_token}"
            yield request
