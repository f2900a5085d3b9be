"""OAuth for MCP servers: find a server's token endpoint and refresh a token set.

Discovery follows the MCP authorization spec: the MCP server's protected-resource metadata
(RFC 9728, `/.well-known/oauth-protected-resource[/path]`) names its authorization server, whose
metadata (RFC 8414, `/.well-known/oauth-authorization-server[/path]`, or OpenID's
`openid-configuration`) gives the `token_endpoint`. A server without metadata is taken to be its
own authorization server with a `/token` endpoint (the spec's fallback). Every request goes through
the outbound guard; tokens are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ...store.mcp_connections import TokenSet
from ..outbound import refusal_of

__all__ = ["OAuthError", "TokenEndpoint", "discover_token_endpoint", "refresh_grant"]


class OAuthError(Exception):
    """The authorization server refused (`code` is the OAuth error, e.g. `invalid_grant`) or could
    not be reached or understood (`code` is None)."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TokenEndpoint:
    url: str
    auth_methods: tuple[str, ...] = ()
    """`token_endpoint_auth_methods_supported`: `client_secret_basic` is used only when the server
    lists it and not `client_secret_post`."""


def _well_known(url: str, name: str) -> list[str]:
    """RFC 8414/9728 style: `/.well-known/<name>` inserted before the path, then at the root."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    candidates = [f"/.well-known/{name}{path}"] if path else []
    candidates.append(f"/.well-known/{name}")
    return [urlunsplit((parts.scheme, parts.netloc, c, "", "")) for c in candidates]


async def _metadata(client: httpx.AsyncClient, urls: list[str]) -> dict[str, Any] | None:
    for url in urls:
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            raise
        except httpx.HTTPError as exc:
            if refusal_of(exc):
                raise
            continue
        if response.status_code == 200:
            try:
                body = response.json()
            except ValueError:
                continue
            if isinstance(body, dict):
                return body
    return None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


async def discover_token_endpoint(client: httpx.AsyncClient, resource_url: str) -> TokenEndpoint:
    """The token endpoint of the authorization server that protects the MCP server at `resource_url`."""
    resource = await _metadata(client, _well_known(resource_url, "oauth-protected-resource"))
    servers = (resource or {}).get("authorization_servers") or []
    issuer = servers[0] if servers and isinstance(servers[0], str) else _origin(resource_url)
    urls = _well_known(issuer, "oauth-authorization-server") + _well_known(issuer, "openid-configuration")
    meta = await _metadata(client, list(dict.fromkeys(urls)))
    if meta and isinstance(meta.get("token_endpoint"), str):
        methods = meta.get("token_endpoint_auth_methods_supported") or ()
        return TokenEndpoint(meta["token_endpoint"], tuple(m for m in methods if isinstance(m, str)))
    return TokenEndpoint(f"{_origin(issuer)}/token")


async def refresh_grant(
    client: httpx.AsyncClient,
    endpoint: TokenEndpoint,
    *,
    refresh_token: str,
    client_id: str | None,
    client_secret: str | None,
    resource: str,
    scope: str | None = None,
) -> TokenSet:
    """`grant_type=refresh_token` at `endpoint`. The new set keeps the old refresh token when the
    server does not rotate it; its expiry is absolute."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "resource": resource}
    auth: httpx.BasicAuth | None = None
    if client_id:
        basic = "client_secret_basic" in endpoint.auth_methods and "client_secret_post" not in endpoint.auth_methods
        if client_secret and basic:
            auth = httpx.BasicAuth(client_id, client_secret)
        else:
            form["client_id"] = client_id
            if client_secret:
                form["client_secret"] = client_secret
    requested = datetime.now(UTC)
    try:
        response = await client.post(
            endpoint.url, data=form, auth=auth or httpx.USE_CLIENT_DEFAULT, headers={"Accept": "application/json"}
        )
    except httpx.TimeoutException:
        raise OAuthError("the token endpoint did not answer in time") from None
    except httpx.HTTPError as exc:
        raise OAuthError(f"could not reach the token endpoint: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
        code = body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None
        detail = f" ({code})" if code else ""
        raise OAuthError(f"the token endpoint answered {response.status_code}{detail}", code)
    expires_in = body.get("expires_in")
    expires_at = requested + timedelta(seconds=float(expires_in)) if isinstance(expires_in, int | float) else None
    new_refresh = body.get("refresh_token")
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=new_refresh if isinstance(new_refresh, str) and new_refresh else refresh_token,
        expires_at=expires_at,
        token_type=body.get("token_type") if isinstance(body.get("token_type"), str) else None,
        scope=body.get("scope") if isinstance(body.get("scope"), str) else scope,
    )
