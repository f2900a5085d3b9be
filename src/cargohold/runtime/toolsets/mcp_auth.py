"""An MCP client's OAuth credential, through the mcp SDK's `OAuthClientProvider` with a token
storage in the database (`StoredTokens` over `mcp_connections`, encrypted at rest).

The SDK gives the flow's parts: discovery (the MCP server's protected-resource metadata, RFC 9728,
names its authorization server, whose RFC 8414 / OpenID metadata gives the token endpoint), the
refresh request (client authentication as the client's registration says, RFC 8707 `resource`),
the token response model, and the `TokenStorage` protocol. What cargohold adds around it:
- the token set a client configured is superseded by the one stored for its connection (keyed by
  workspace and the configured credential), so a refresh done by one turn serves every later turn;
- expiry is absolute (`issuedAt + expiresIn`, stored as a time), and a token this close to it
  (`REFRESH_MARGIN`) is refreshed before use, also at connect time, outside any request;
- refreshes are single-flight: a lock per connection key in this process, and the stored row is
  read again under it, so a set another turn (or process) refreshed meanwhile is used instead;
- a 401 on a token that looks valid refreshes once and retries (the SDK would start an
  interactive authorization, which a server-side turn cannot do);
- `invalid_grant` marks the connection as needing new authentication, with a clear message;
  nothing but a new token set from the client clears it.
Every request goes through the outbound guard (the MCP transport's client, or `guarded_client2`);
tokens are never logged.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import anyio
import httpx2
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.utils import (
    build_oauth_authorization_server_metadata_discovery_urls,
    build_protected_resource_metadata_discovery_urls,
    create_oauth_metadata_request,
    handle_auth_metadata_response,
    handle_protected_resource_response,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthMetadata, OAuthToken
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from pydantic import AnyHttpUrl, BaseModel, ValidationError

from ...db.engine import SessionFactory
from ...schemas.mcp_clients import McpAuthentication
from ...store import mcp_connections as store
from ...store.mcp_connections import TokenSet
from ..outbound import AllowList, guarded_client2

__all__ = ["BearerFlow", "NeedsReauth", "RefreshFailed", "StoredTokens"]

REFRESH_MARGIN = timedelta(seconds=30)
"""A token this close to its expiry is refreshed before use."""


class _Connection:
    """What this process knows of one connection: its lock, and the set its last refresh stored, so
    callers that waited on the lock take that set without reading the row again one by one."""

    def __init__(self) -> None:
        self.lock = anyio.Lock()
        self.latest: TokenSet | None = None
        self.reauth: str | None = None


_connections: weakref.WeakValueDictionary[tuple[uuid.UUID, str], _Connection] = weakref.WeakValueDictionary()


def _connection(workspace_uuid: uuid.UUID, key: str) -> _Connection:
    found = _connections.get((workspace_uuid, key))
    if found is None:
        found = _connections[(workspace_uuid, key)] = _Connection()
    return found


class NeedsReauth(Exception):
    """The refresh token was refused: the MCP client must be authenticated again."""


class RefreshFailed(Exception):
    """The token could not be refreshed this time (unreachable, timeout, a server error)."""


class StoredTokens:
    """The SDK's `TokenStorage` over one row of `mcp_connections` (workspace + connection key),
    starting from the token set the client configured. It keeps the absolute expiry the SDK's
    `OAuthToken` (relative `expires_in`) cannot carry."""

    def __init__(
        self, auth: McpAuthentication, *, url: str, key: str, workspace_uuid: uuid.UUID, sessions: SessionFactory
    ) -> None:
        self.url = url
        self.key = key
        self.workspace_uuid = workspace_uuid
        self._sessions = sessions
        self._auth = auth
        self.current = TokenSet(auth.access_token, auth.refresh_token, auth.expires_at(), auth.token_type, auth.scope)
        self.needs_reauth: str | None = None
        """The stored reason, when the connection needs new authentication."""

    async def load(self) -> TokenSet:
        """The stored set, if a turn refreshed this credential before (else the configured one)."""
        async with self._sessions() as session:
            row = await store.read_connection(session, self.workspace_uuid, self.key)
        if row is not None and row.needs_reauth:
            self.needs_reauth = row.error_message or "needs re-authentication"
        elif row is not None and row.access_token:
            self.current = TokenSet(row.access_token, row.refresh_token, row.expires_at, row.token_type, row.scope)
        return self.current

    async def get_tokens(self) -> OAuthToken | None:
        tokens = await self.load()
        expires_in = None
        if tokens.expires_at is not None:
            expires_in = max(0, int((tokens.expires_at - datetime.now(UTC)).total_seconds()))
        return OAuthToken(
            access_token=tokens.access_token,
            expires_in=expires_in,
            refresh_token=tokens.refresh_token,
            scope=tokens.scope,
        )

    async def set_tokens(self, tokens: OAuthToken, *, requested: datetime | None = None) -> None:
        """Store a refreshed set; its expiry counts from when the refresh was requested."""
        start = requested or datetime.now(UTC)
        expires_at = start + timedelta(seconds=tokens.expires_in) if tokens.expires_in is not None else None
        token_set = TokenSet(tokens.access_token, tokens.refresh_token, expires_at, tokens.token_type, tokens.scope)
        async with self._sessions() as session, session.begin():
            await store.save_tokens(session, self.workspace_uuid, self.key, self.url, token_set)
        self.current = token_set

    async def mark_needs_reauth(self, message: str) -> None:
        async with self._sessions() as session, session.begin():
            await store.mark_needs_reauth(session, self.workspace_uuid, self.key, self.url, message)
        self.needs_reauth = message

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        """The client as configured (cargohold never registers one)."""
        if not self._auth.client_id:
            return None
        return OAuthClientInformationFull(
            client_id=self._auth.client_id,
            client_secret=self._auth.client_secret,
            token_endpoint_auth_method="client_secret_post" if self._auth.client_secret else "none",
            grant_types=["refresh_token"],
        )

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        raise NeedsReauth("cargohold does not register OAuth clients: send a token set with its clientId")


class BearerFlow(OAuthClientProvider):
    """The SDK's provider for one MCP client's credential (an `httpx2.Auth`): sends the current
    token; refreshes first when it is due, and once more after a 401 (a token revoked or expired
    early). `refresh_now` does the same outside a request (at connect time)."""

    requires_response_body = False  # MCP responses stream (SSE): only token and metadata bodies are read

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
        assert auth.refresh_token
        self.client_name = client_name
        self.key = store.connection_key(url, auth.client_id, auth.refresh_token)
        self.tokens = StoredTokens(auth, url=url, key=self.key, workspace_uuid=workspace_uuid, sessions=sessions)
        metadata = OAuthClientMetadata(redirect_uris=None, grant_types=["refresh_token"], scope=auth.scope)
        super().__init__(url, metadata, self.tokens)
        self.connection = _connection(workspace_uuid, self.key)
        self.context.lock = self.connection.lock  # one refresh per connection, not per provider
        self._allow = allow
        self._timeout = timeout
        self.refreshes = 0
        """Refresh grants this credential made (tests count them)."""
        self.failure: NeedsReauth | RefreshFailed | None = None
        """Why the last refresh during a request failed, to tell the model instead of the SDK's words."""

    @property
    def current(self) -> TokenSet:
        return self.tokens.current

    def due(self, now: datetime | None = None) -> bool:
        expires_at = self.current.expires_at
        return expires_at is not None and expires_at - REFRESH_MARGIN <= (now or datetime.now(UTC))

    def _reauth_message(self) -> str:
        return (
            f"MCP client {self.client_name} needs to be re-authenticated: the refresh token was refused (invalid_grant)"
        )

    async def load(self) -> None:
        """Adopt the stored token set; a connection known to need new authentication fails here."""
        await self.tokens.load()
        if self.tokens.needs_reauth is not None:
            raise NeedsReauth(self.tokens.needs_reauth)
        if self.context.client_info is None:
            self.context.client_info = await self.tokens.get_client_info()

    async def refresh_now(self) -> None:
        """Refresh at once if the token is due: the same flow, driven by a guarded client of our own
        (made only when the flow sends something: most callers find a set refreshed meanwhile)."""
        await self.load()
        if not self.due():
            return
        with anyio.fail_after(self._timeout * 2):
            async with AsyncExitStack() as stack:
                flow = self._refresh_flow(rejected=None)
                try:
                    request = await flow.__anext__()
                    client = await stack.enter_async_context(guarded_client2(self._allow, timeout=self._timeout))
                    while True:
                        try:
                            response = await client.send(request)
                        except httpx2.HTTPError as exc:
                            await flow.aclose()
                            raise RefreshFailed(self._unreachable(exc)) from exc
                        request = await flow.asend(response)
                except StopAsyncIteration:
                    pass

    def _unreachable(self, exc: BaseException | None = None) -> str:
        detail = f": {exc}" if exc is not None and str(exc) else ""
        return f"MCP client {self.client_name}: could not refresh its token: the token endpoint is unreachable{detail}"

    async def _refresh_flow(self, *, rejected: str | None) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """Under the connection's lock, refresh unless another caller already did (the stored set is
        read again first). `rejected`: the server refused this access token (a 401), so refresh even
        if it looks valid, unless it was replaced meanwhile. Discovery (the SDK's) runs once per
        provider, before its first refresh."""
        async with self.context.lock:
            await self._adopt_latest()
            if rejected is not None:
                if self.current.access_token != rejected:
                    return
            elif not self.due():
                return
            if self.current.refresh_token is None:
                raise RefreshFailed(f"MCP client {self.client_name}: the token expired and there is no refresh token")
            if self.context.oauth_metadata is None:
                for url in build_protected_resource_metadata_discovery_urls(None, self.context.server_url):
                    prm = await handle_protected_resource_response((yield create_oauth_metadata_request(url)))
                    if prm is not None and prm.authorization_servers:
                        self.context.protected_resource_metadata = prm
                        self.context.auth_server_url = str(prm.authorization_servers[0])
                        break
                server = self.context.auth_server_url
                for url in build_oauth_authorization_server_metadata_discovery_urls(server, self.context.server_url):
                    answer = yield create_oauth_metadata_request(url)
                    ok, metadata = await handle_auth_metadata_response(answer)
                    metadata = metadata or _token_endpoint_only(answer)
                    if metadata is not None:
                        self.context.oauth_metadata = metadata
                    if not ok or metadata is not None:
                        break
                self._choose_client_auth()
            self.context.current_tokens = await self.tokens.get_tokens()
            requested = datetime.now(UTC)
            response = yield await self._refresh_request()
            await self._refreshed(response, requested)

    async def _adopt_latest(self) -> None:
        """Under the lock: what this process refreshed meanwhile, else the stored row (another process
        may have refreshed it)."""
        known = self.connection
        if known.reauth is not None:
            raise NeedsReauth(known.reauth)
        latest = known.latest
        if latest is not None and latest.access_token != self.current.access_token:
            self.tokens.current = latest
            if not self.due():
                return
        await self.load()

    def _choose_client_auth(self) -> None:
        """client_secret_basic only when the server lists it and not client_secret_post."""
        info, metadata = self.context.client_info, self.context.oauth_metadata
        if info is not None and info.client_secret and metadata is not None:
            methods = metadata.token_endpoint_auth_methods_supported or []
            if "client_secret_basic" in methods and "client_secret_post" not in methods:
                info.token_endpoint_auth_method = "client_secret_basic"

    async def _refresh_request(self) -> httpx2.Request:
        if self.context.client_info is not None:
            return await self._refresh_token()  # the SDK's request: client auth and `resource` as it decides
        # No client id configured: the grant alone (and the resource), as a public client would send it.
        form = {"grant_type": "refresh_token", "refresh_token": self.current.refresh_token or ""}
        if self.context.should_include_resource_param(self.context.protocol_version):
            form["resource"] = self.context.get_resource_url()
        return httpx2.Request("POST", self._get_token_endpoint(), data=form)

    async def _refreshed(self, response: httpx2.Response, requested: datetime) -> None:
        """The token endpoint's answer: a new set stored, or why not (`invalid_grant`: stored too)."""
        body = await response.aread()
        if response.status_code == 200:
            try:
                tokens = OAuthToken.model_validate_json(body)
            except ValidationError:
                raise RefreshFailed(
                    f"MCP client {self.client_name}: could not refresh its token: "
                    "the token endpoint answered 200 without a usable token set"
                ) from None
            # RFC 6749 §6: a server that does not rotate the refresh token (or change the scope) omits it.
            tokens.refresh_token = tokens.refresh_token or self.current.refresh_token
            tokens.scope = tokens.scope or self.current.scope
            await self.tokens.set_tokens(tokens, requested=requested)
            self.connection.latest = self.tokens.current
            self.context.current_tokens = tokens
            self.refreshes += 1
            return
        code = _oauth_error(body)
        if code == "invalid_grant":
            message = self._reauth_message()
            await self.tokens.mark_needs_reauth(message)
            self.connection.reauth = message
            raise NeedsReauth(message)
        detail = f" ({code})" if code else ""
        raise RefreshFailed(
            f"MCP client {self.client_name}: could not refresh its token: "
            f"the token endpoint answered {response.status_code}{detail}"
        )

    async def _auth_flow(self, request: httpx2.Request) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        """The current token; refreshed first when due, and once more after a 401."""
        self.context.protocol_version = request.headers.get(MCP_PROTOCOL_VERSION_HEADER)
        rejected: str | None = None
        for attempt in range(2):
            if attempt or self.due():
                flow = self._refresh_flow(rejected=rejected)
                try:
                    outgoing = await flow.__anext__()
                    while True:
                        outgoing = await flow.asend((yield outgoing))
                except StopAsyncIteration:
                    pass
                except (NeedsReauth, RefreshFailed) as exc:
                    self.failure = exc  # the MCP SDK reports only "Connection closed"
                    raise
                except GeneratorExit:  # httpx could not send a discovery or token request
                    self.failure = RefreshFailed(self._unreachable())
                    raise
            token = self.current.access_token
            request.headers["Authorization"] = f"Bearer {token}"
            response = yield request
            if response.status_code != 401 or attempt:
                return
            await response.aread()
            rejected = token


def _oauth_error(body: bytes) -> str | None:
    """The `error` code of an OAuth error body (RFC 6749 §5.2), if it has one."""
    try:
        return _OAuthErrorBody.model_validate_json(body).error
    except ValidationError:
        return None


class _OAuthErrorBody(BaseModel):
    error: str


class _TokenEndpointMetadata(BaseModel):
    token_endpoint: AnyHttpUrl
    token_endpoint_auth_methods_supported: list[str] | None = None


def _token_endpoint_only(response: httpx2.Response) -> OAuthMetadata | None:
    """Metadata the SDK's model refuses but that names a token endpoint (an authorization server
    that only refreshes need not publish an `authorization_endpoint`): enough for a refresh."""
    if response.status_code != 200:
        return None
    try:
        found = _TokenEndpointMetadata.model_validate_json(response.content)
    except (ValidationError, httpx2.ResponseNotRead):
        return None
    return OAuthMetadata.model_construct(**found.model_dump())
