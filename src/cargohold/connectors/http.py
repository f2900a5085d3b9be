"""The built-in `http` connector: one action, `request`, that calls an HTTP API.

It is also the reference for plugin authors: a package exposes a `Connector` in the
`cargohold.connectors` entry-point group (see this project's pyproject.toml):

    [project.entry-points."cargohold.connectors"]
    http = "cargohold.connectors.http:connector"

Requests go through the outbound guard: private, loopback and link-local addresses are refused
unless `CARGOHOLD_ALLOW_PRIVATE_URLS` allows them.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic_ai.exceptions import ToolFailed

from ..runtime.outbound import refusal_of
from ..runtime.plugins import ActionContext, Connector, ConnectorActionSpec

__all__ = ["connector"]

MAX_BODY_CHARS = 100_000
_KEPT_HEADERS = ("content-type", "location", "retry-after", "etag", "last-modified")

REQUEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], "default": "GET"},
        "url": {"type": "string", "description": "An absolute http(s) URL."},
        "headers": {"type": "object", "additionalProperties": {"type": "string"}},
        "query": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        "json": {"description": "A JSON body."},
        "body": {"type": "string", "description": "A text body (when `json` is not given)."},
    },
    "required": ["url"],
    "additionalProperties": False,
}


async def request(args: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
    url = args.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ToolFailed("`url` must be an absolute http:// or https:// URL")
    method = str(args.get("method") or "GET").upper()
    kwargs: dict[str, Any] = {"headers": args.get("headers") or None, "params": args.get("query") or None}
    if "json" in args:
        kwargs["json"] = args["json"]
    elif isinstance(args.get("body"), str):
        kwargs["content"] = args["body"]
    try:
        response = await ctx.http.request(method, url, timeout=ctx.timeout, **kwargs)
    except httpx.TimeoutException as exc:
        raise ToolFailed(f"{method} {url} timed out after {ctx.timeout:g}s") from exc
    except httpx.HTTPError as exc:
        refused = refusal_of(exc)
        raise ToolFailed(str(refused) if refused else f"{method} {url} failed: {exc or type(exc).__name__}") from exc
    text = response.text
    truncated = len(text) > MAX_BODY_CHARS
    result: dict[str, Any] = {
        "status": response.status_code,
        "headers": {k: v for k, v in response.headers.items() if k.lower() in _KEPT_HEADERS},
    }
    try:
        result["json"] = json.loads(text) if text and not truncated else None
    except ValueError:
        result["json"] = None
    if result["json"] is None:
        result["text"] = text[:MAX_BODY_CHARS]
        result["truncated"] = truncated
    return result


connector = Connector(
    slug="http",
    name="HTTP",
    actions={
        "request": ConnectorActionSpec(
            slug="request",
            description="Send an HTTP request and return its status, a few headers and the body "
            "(parsed when it is JSON).",
            input_schema=REQUEST_SCHEMA,
            run=request,
        )
    },
)
