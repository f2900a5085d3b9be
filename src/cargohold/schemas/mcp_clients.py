"""MCP clients: the external MCP servers an agent may call (`mcpClients` of turns and releases),
and `POST /v1/ai/mcpClients/connect`.

A client is `custom` {name, url, authentication|null, disabledToolSlugs[]} or `connector`
{name, connectorUuid, integrationSlug, disabledToolSlugs[]}; a client without `kind` is `custom`
(Cargo's older shape). cargohold adds `timeouts: {connect?, list?, call?, tools?: {slug: s}}`
(seconds). Every value of `authentication` but a few non-secret ones never leaves the server:
`redact_mcp_clients` (schemas/secrets.py, the one masking rule) masks them for every response.
Stored clients (of releases and messages) hold `authentication` masked and a `credentialKey`
naming the credential in the encrypted `mcp_connections` store (services/config.py
`check_mcp_clients` puts it there; the turn reads it back by that key). `restore_redacted` lets a
client send a stored client back masked, to keep its credential.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter, ValidationError, field_validator

from ..errors import BadRequest
from .common import UUID4, CamelModel, RequestModel
from .secrets import CREDENTIAL_KEY, MASK, masked_paths, redact_mcp_clients

__all__ = [
    "REDACTED",
    "ConnectorMcpClient",
    "CustomMcpClient",
    "McpAuthentication",
    "McpClient",
    "McpClientConnect",
    "McpConnected",
    "McpTimeouts",
    "McpTool",
    "McpToolConfig",
    "parse_issued_at",
    "parse_mcp_client",
    "parse_mcp_clients",
    "redact_mcp_clients",
    "restore_redacted",
]

REDACTED = MASK


class _Strict(CamelModel):
    model_config = ConfigDict(extra="forbid")


class McpAuthentication(CamelModel):
    """An OAuth token set. Other keys a token endpoint returns (`id_token`, ...) are kept."""

    model_config = ConfigDict(extra="allow")

    issued_at: str = Field(description="When the token set was issued (ISO 8601).")
    access_token: str = Field(min_length=1)
    expires_in: float | None = Field(
        default=None,
        ge=0,
        le=10 * 366 * 24 * 3600,
        allow_inf_nan=False,
        description="Seconds after `issuedAt` it expires (at most ten years).",
    )
    refresh_token: str | None = None
    scope: str | None = None
    token_type: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    @field_validator("issued_at")
    @classmethod
    def _a_time(cls, value: str) -> str:
        parse_issued_at(value)
        return value

    def expires_at(self) -> datetime | None:
        """The absolute expiry (`issuedAt + expiresIn`), or None when the token set does not say."""
        if self.expires_in is None:
            return None
        return parse_issued_at(self.issued_at) + timedelta(seconds=self.expires_in)


def parse_issued_at(value: str) -> datetime:
    """An ISO 8601 time (UTC when it has no offset), or epoch seconds / milliseconds, before the year
    9000 (so `issuedAt + expiresIn` is a date too)."""
    out_of_range = "must be an ISO 8601 time, or epoch seconds or milliseconds, before the year 9000"
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        seconds = number / 1000 if abs(number) > 1e11 else number
        try:
            parsed = datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):  # inf, nan, 1e300, 20 digits
            raise ValueError(out_of_range) from None
        if parsed.year >= 9000:
            raise ValueError(out_of_range)
        return parsed
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an ISO 8601 time") from None
    if parsed.year >= 9000:
        raise ValueError(out_of_range)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class McpTimeouts(_Strict):
    """Per-client timeouts in seconds (a cargohold extension); unset ones use the server's settings."""

    connect: float | None = Field(default=None, gt=0, le=600)
    list: float | None = Field(default=None, gt=0, le=600)
    call: float | None = Field(default=None, gt=0, le=3600)
    tools: dict[str, Annotated[float, Field(gt=0, le=3600)]] | None = Field(
        default=None, description="Call timeouts of single tools by the server's tool name, over `call`."
    )


class CustomMcpClient(_Strict):
    kind: Literal["custom"] = "custom"
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000, description="The server's streamable HTTP (or `/sse`) URL.")
    authentication: McpAuthentication | None = None
    disabled_tool_slugs: list[str] = Field(default_factory=list, description="Server tool names to hide.")
    timeouts: McpTimeouts | None = None
    credential_key: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="Set by the server on stored clients: where `authentication` is kept in clear "
        "(encrypted). Never returned.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.lower().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url


class ConnectorMcpClient(_Strict):
    kind: Literal["connector"]
    name: str = Field(min_length=1, max_length=200)
    connector_uuid: UUID4
    integration_slug: str = Field(min_length=1, max_length=100)
    disabled_tool_slugs: list[str] = Field(default_factory=list)
    timeouts: McpTimeouts | None = None


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind") or "custom")
    return str(getattr(value, "kind", "custom"))


McpClient = Annotated[
    Annotated[CustomMcpClient, Tag("custom")] | Annotated[ConnectorMcpClient, Tag("connector")],
    Discriminator(
        _kind, custom_error_type="mcp_client_kind", custom_error_message="`kind` must be custom or connector"
    ),
]
_CLIENT: TypeAdapter[McpClient] = TypeAdapter(McpClient)
_CLIENTS: TypeAdapter[list[McpClient]] = TypeAdapter(list[McpClient])


def _field(loc: tuple[Any, ...]) -> str:
    path = ""
    for part in loc:
        if part in ("custom", "connector"):  # the union's tag, not a field
            continue
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _validate(adapter: TypeAdapter[Any], value: Any, field: str) -> Any:
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = f"{field}{_field(tuple(error['loc']))}"
        if error["type"] == "extra_forbidden":
            raise BadRequest(f"Unknown field `{where}`") from None
        if error["type"] == "missing":
            raise BadRequest(f"`{where}` is required") from None
        raise BadRequest(f"`{where}`: {str(error['msg']).removeprefix('Value error, ')}") from None


def parse_mcp_client(raw: dict[str, Any], *, field: str = "mcpClient") -> McpClient:
    """Validate one raw camelCase MCP client; a bad one is a BadRequest naming the field."""
    return _validate(_CLIENT, raw, field)


def parse_mcp_clients(raw: list[dict[str, Any]], *, field: str = "mcpClients") -> list[McpClient]:
    """Validate raw camelCase `mcpClients`; a bad one is a BadRequest naming the field. Names must
    be distinct (they name the tools' prefixes)."""
    clients: list[McpClient] = _validate(_CLIENTS, raw, field)
    names = [c.name for c in clients]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise BadRequest(f"`{field}[{i}].name`: two MCP clients are named {name!r}")
    return clients


def restore_redacted(new: list[dict[str, Any]], old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`new` where a client sent back with its `authentication` masked keeps the stored credential of
    the client of the same name and url in `old` (its `credentialKey`). A mask with no stored
    credential to keep (a new client, or one whose url changed) stays, and `check_mcp_clients`
    refuses it."""
    stored = {
        (c.get("name"), c.get("url")): c[CREDENTIAL_KEY]
        for c in old or []
        if isinstance(c, dict) and isinstance(c.get(CREDENTIAL_KEY), str)
    }
    out = []
    for client in new:
        if isinstance(client, dict) and masked_paths(client.get("authentication")):
            key = stored.get((client.get("name"), client.get("url")))
            client = {k: v for k, v in client.items() if k != CREDENTIAL_KEY}
            if key:
                client[CREDENTIAL_KEY] = key
        out.append(client)
    return out


class McpClientConnect(RequestModel):
    """Body of `POST /v1/ai/mcpClients/connect`."""

    mcp_client: dict[str, Any] = Field(description="An MCP client: `custom` {name, url, ...} or `connector`.")


class McpToolConfig(CamelModel):
    json_schema: dict[str, Any] = Field(description="The tool's input JSON schema.")


class McpTool(CamelModel):
    slug: str = Field(description="The server's own tool name.")
    description: str | None = None
    config: McpToolConfig


class McpConnected(BaseModel):
    outcome: Literal["connected"] = "connected"
    tools: list[McpTool]
