"""Workspace webhook tools (`/v1/tools`, a cargohold extension) and background tool runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from .common import CamelModel, RequestModel
from .safe import FreeJsonObject

__all__ = [
    "Tool",
    "ToolCreate",
    "ToolCreated",
    "ToolEnvelope",
    "ToolRun",
    "ToolRunEnvelope",
    "ToolUpdate",
    "ToolsEnvelope",
]

SECRET_MASK = "********"
Method = Literal["POST", "PUT", "PATCH"]


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


class ToolUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    url: str | None = Field(default=None, max_length=2000)
    method: Method | None = None
    input_schema: FreeJsonObject | None = None
    headers: dict[str, str] | None = Field(
        default=None,
        max_length=50,
        description=f"Replaces the headers; a value of `{SECRET_MASK}` keeps the stored one.",
    )
    timeout_seconds: float | None = Field(default=None, gt=0, le=600)

    _schema = field_validator("input_schema")(classmethod(lambda cls, v: _check_schema(v)))
    _url = field_validator("url")(classmethod(lambda cls, v: _check_url(v)))


class Tool(CamelModel):
    uuid: uuid.UUID
    workspace_uuid: uuid.UUID
    user_uuid: uuid.UUID | None
    name: str
    description: str | None
    url: str
    method: str
    input_schema: dict[str, Any]
    headers: dict[str, str] = Field(description=f"Header names; every value shows as `{SECRET_MASK}`.")
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
    uuid: uuid.UUID
    workspace_uuid: uuid.UUID
    message_uuid: uuid.UUID
    tool_call_id: str
    slug: str
    status: str = Field(description="executing | executed | failed")
    input: Any
    output: Any | None
    error_message: str | None
    created_at: datetime
    finished_at: datetime | None


class ToolRunEnvelope(CamelModel):
    run: ToolRun
