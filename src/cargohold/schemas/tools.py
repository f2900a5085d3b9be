"""Workspace webhook tools (`/v1/tools`, a cargohold extension) and background tool runs."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field, field_validator

from .common import CamelModel, RequestModel
from .safe import FreeJsonObject
from .secrets import MASK, MaskedConfig, MaskedHeaders

__all__ = [
    "SECRET_MASK",
    "SIGNATURE_HEADER",
    "Tool",
    "ToolCreate",
    "ToolCreated",
    "ToolEnvelope",
    "ToolRun",
    "ToolRunEnvelope",
    "ToolUpdate",
    "ToolsEnvelope",
]

SECRET_MASK = MASK
SIGNATURE_HEADER = "X-Cargohold-Signature"
"""The header cargohold signs every webhook call with (runtime/toolsets/webhook.py)."""
Method = Literal["POST", "PUT", "PATCH"]
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
"""An RFC 7230 header field name (a `token`)."""
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", SIGNATURE_HEADER.lower()})
"""Set by cargohold (or the HTTP client) on every call: a tool may not set them."""


def _check_headers(headers: dict[str, str] | None) -> dict[str, str] | None:
    if headers is None:
        return None
    seen: set[str] = set()
    for name, value in headers.items():
        if not _TOKEN.match(name):
            raise ValueError(f"header name {name!r} is not a valid HTTP header name (RFC 7230 token)")
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(f"header `{name}` is set by cargohold on every call and cannot be given")
        if name.lower() in seen:
            raise ValueError(f"header `{name}` is given twice (header names are case-insensitive)")
        seen.add(name.lower())
        if _BAD_VALUE.search(value):
            raise ValueError(f"header `{name}`: the value may not hold control characters (CR, LF, NUL, ...)")
        if not value.isascii():
            raise ValueError(f"header `{name}`: the value must be ASCII text")
    return headers


def _check_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    if schema is None:
        return None
    if schema.get("type", "object") != "object":
        raise ValueError('must be a JSON Schema of an object (`"type": "object"`)')
    if "properties" in schema and not isinstance(schema["properties"], dict):
        raise ValueError("`properties` must be an object")
    return {"type": "object", **schema}


def _check_url(url: str | None) -> str | None:
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return url


class ToolCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000, description="What the model reads.")
    url: str = Field(max_length=2000, description="Receives `{input, context}` as a signed JSON POST.")
    method: Method = "POST"
    input_schema: FreeJsonObject = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the tool's input object.",
    )
    headers: dict[str, str] = Field(
        default_factory=dict, max_length=50, description="Sent with every call (e.g. an API key). Never returned."
    )
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)

    _schema = field_validator("input_schema")(classmethod(lambda cls, v: _check_schema(v)))
    _url = field_validator("url")(classmethod(lambda cls, v: _check_url(v)))
    _headers = field_validator("headers")(classmethod(lambda cls, v: _check_headers(v)))


class ToolUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    url: str | None = Field(default=None, max_length=2000)
    method: Method | None = None
    input_schema: FreeJsonObject | None = None
    headers: dict[str, str] | None = Field(
        default=None,
        max_length=50,
        description=f"Replaces the headers; a value of `{SECRET_MASK}` keeps the stored one, unless `url` "
        "changes: then only headers sent in clear are kept (a stored secret never goes to a new host).",
    )
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)

    _schema = field_validator("input_schema")(classmethod(lambda cls, v: _check_schema(v)))
    _url = field_validator("url")(classmethod(lambda cls, v: _check_url(v)))
    _headers = field_validator("headers")(classmethod(lambda cls, v: _check_headers(v)))


class Tool(CamelModel):
    uuid: UUID
    workspace_uuid: UUID
    user_uuid: UUID | None
    name: str
    description: str | None
    url: str
    method: str
    input_schema: dict[str, Any]
    headers: MaskedHeaders = Field(description=f"Header names; every value shows as `{SECRET_MASK}`.")
    timeout_seconds: float | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class ToolCreated(CamelModel):
    tool: Tool
    signing_secret: str = Field(
        description="HMAC-SHA256 key of the `X-Cargohold-Signature` header on every call. Shown only here, once."
    )


class ToolEnvelope(CamelModel):
    tool: Tool


class ToolsEnvelope(CamelModel):
    tools: list[Tool]


class ToolRun(CamelModel):
    uuid: UUID
    workspace_uuid: UUID
    message_uuid: UUID
    tool_call_id: str
    slug: str
    status: str = Field(description="executing | executed | failed")
    input: MaskedConfig = Field(description="The call's input; pinned secrets (headers, keys) never show in clear.")
    output: Any | None
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None


class ToolRunEnvelope(CamelModel):
    run: ToolRun
