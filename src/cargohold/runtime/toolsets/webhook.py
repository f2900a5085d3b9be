"""Call a webhook tool: POST `{input, context}` as JSON, signed, with a timeout; its JSON answer is
the output.

Signature (like Stripe's): `X-Cargohold-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<raw body>" with the tool's signing secret>`. A receiver recomputes it over the raw body and
rejects old timestamps. The tool's own headers (e.g. an API key) are sent too; they are secrets.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic_ai.exceptions import ToolFailed

from ...schemas.tools import SIGNATURE_HEADER
from ..outbound import refusal_of

__all__ = ["IDEMPOTENCY_HEADER", "SIGNATURE_HEADER", "WebhookCall", "call_webhook", "sign"]

IDEMPOTENCY_HEADER = "X-Cargohold-Idempotency-Key"
_SNIPPET = 300
_PARSE_ON_LOOP = 64 * 1024


@dataclass(frozen=True, slots=True)
class WebhookCall:
    url: str
    method: str
    headers: dict[str, str]
    signing_secret: str
    timeout: float
    max_response_bytes: int = 2 * 1024 * 1024
    """A longer answer is a failure, read no further (`CARGOHOLD_MAX_WEBHOOK_RESPONSE_BYTES`)."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


async def call_webhook(http: httpx.AsyncClient, hook: WebhookCall, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload, separators=(",", ":"), default=str).encode()
    headers = {
        **hook.headers,
        "Content-Type": "application/json",
        "Accept": "application/json",
        SIGNATURE_HEADER: sign(hook.signing_secret, int(time.time()), body),
    }
    context = payload.get("context") or {}
    if context.get("messageUuid") and context.get("toolCallId"):
        # The same for every attempt of one tool call: a durable turn taken over by another worker
        # may call a webhook again, and the receiver can tell.
        headers[IDEMPOTENCY_HEADER] = f"{context['messageUuid']}:{context['toolCallId']}"
    try:
        async with http.stream(hook.method, hook.url, content=body, headers=headers, timeout=hook.timeout) as response:
            content = await _read_bounded(response, hook.max_response_bytes)
    except httpx.TimeoutException as exc:
        raise ToolFailed(f"the webhook did not answer within {hook.timeout:g}s") from exc
    except httpx.HTTPError as exc:
        refused = refusal_of(exc)
        raise ToolFailed(
            str(refused) if refused else f"could not reach the webhook: {exc or type(exc).__name__}"
        ) from exc
    text = content.decode("utf-8", "replace")
    if not response.is_success:
        raise ToolFailed(f"the webhook answered HTTP {response.status_code}: {text[:_SNIPPET]}")
    if not content:
        return None
    try:
        # A big answer is parsed off the event loop.
        return json.loads(content) if len(content) < _PARSE_ON_LOOP else await asyncio.to_thread(json.loads, content)
    except ValueError as exc:
        raise ToolFailed(f"the webhook answered something that is not JSON: {text[:_SNIPPET]!r}") from exc


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ToolFailed(f"the webhook answered {int(declared)} bytes, more than the {limit} allowed")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ToolFailed(f"the webhook answered more than the {limit} bytes allowed")
        chunks.append(chunk)
    return b"".join(chunks)
