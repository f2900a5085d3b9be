"""Encode UI message stream chunks for the client's AI SDK version.

The AI SDK validates every chunk against a strict schema: an unknown key kills the stream in the
browser (vercel/ai#11269: `finishReason` sent to a 5.0 client). So each chunk keeps only the
fields its type has in the configured major version (../shared/ui-message-stream.md §2.2-2.3),
and a chunk type that version does not know is dropped. JSON is compact and raw UTF-8, like
`JSON.stringify`; absent optional fields are omitted, never `null`.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic_ai.ui.vercel_ai.response_types import BaseChunk, DoneChunk

__all__ = ["DONE", "SdkVersion", "chunk_fields", "dump_chunk", "encode_chunk", "filter_chunk"]

SdkVersion = Literal[5, 6, 7]
DONE = "[DONE]"

_TOOL_V5 = {"toolCallId", "toolName", "providerExecuted", "dynamic"}
_V5: dict[str, set[str]] = {
    "start": {"messageId", "messageMetadata"},
    "start-step": set(),
    "text-start": {"id", "providerMetadata"},
    "text-delta": {"id", "delta", "providerMetadata"},
    "text-end": {"id", "providerMetadata"},
    "reasoning-start": {"id", "providerMetadata"},
    "reasoning-delta": {"id", "delta", "providerMetadata"},
    "reasoning-end": {"id", "providerMetadata"},
    "tool-input-start": set(_TOOL_V5),
    "tool-input-delta": {"toolCallId", "inputTextDelta"},
    "tool-input-available": _TOOL_V5 | {"input", "providerMetadata"},
    "tool-input-error": _TOOL_V5 | {"input", "providerMetadata", "errorText"},
    "tool-output-available": {"toolCallId", "output", "providerExecuted", "dynamic", "preliminary"},
    "tool-output-error": {"toolCallId", "errorText", "providerExecuted", "dynamic"},
    "source-url": {"sourceId", "url", "title", "providerMetadata"},
    "source-document": {"sourceId", "mediaType", "title", "filename", "providerMetadata"},
    "file": {"url", "mediaType", "providerMetadata"},
    "message-metadata": {"messageMetadata"},
    "error": {"errorText"},
    "finish-step": set(),
    "finish": {"messageMetadata"},
    "abort": set(),
}
_V6_EXTRA: dict[str, set[str]] = {
    "tool-input-start": {"title", "providerMetadata", "toolMetadata"},
    "tool-input-available": {"title", "toolMetadata"},
    "tool-input-error": {"title", "toolMetadata"},
    "tool-output-available": {"providerMetadata", "toolMetadata"},
    "tool-output-error": {"providerMetadata", "toolMetadata"},
    "tool-approval-request": {"approvalId", "toolCallId", "signature"},
    "tool-output-denied": {"toolCallId"},
    "finish": {"finishReason"},
    "abort": {"reason"},
}
_V7_EXTRA: dict[str, set[str]] = {
    "tool-approval-request": {"isAutomatic"},
    "tool-approval-response": {"approvalId", "approved", "reason", "providerExecuted", "providerMetadata"},
    "custom": {"kind", "providerMetadata"},
    "reasoning-file": {"url", "mediaType", "providerMetadata"},
}


def _merge(*tables: dict[str, set[str]]) -> dict[str, frozenset[str]]:
    merged: dict[str, set[str]] = {}
    for table in tables:
        for kind, fields in table.items():
            merged.setdefault(kind, set()).update(fields)
    return {kind: frozenset(fields) for kind, fields in merged.items()}


_FIELDS: dict[int, dict[str, frozenset[str]]] = {
    5: _merge(_V5),
    6: _merge(_V5, _V6_EXTRA),
    7: _merge(_V5, _V6_EXTRA, _V7_EXTRA),
}
_DATA_FIELDS = frozenset({"data", "id", "transient"})


def chunk_fields(kind: str, sdk_version: SdkVersion) -> frozenset[str] | None:
    """The fields a chunk type may carry in a version, or None if the version lacks the type."""
    if kind.startswith("data-"):
        return _DATA_FIELDS
    return _FIELDS[sdk_version].get(kind)


def filter_chunk(chunk: dict[str, Any], sdk_version: SdkVersion) -> dict[str, Any] | None:
    kind = chunk.get("type")
    if not isinstance(kind, str):
        return None
    allowed = chunk_fields(kind, sdk_version)
    if allowed is None:
        return None
    return {"type": kind, **{k: v for k, v in chunk.items() if k in allowed and v is not None}}


def dump_chunk(chunk: dict[str, Any]) -> str:
    return json.dumps(chunk, separators=(",", ":"), ensure_ascii=False)


def encode_chunk(chunk: BaseChunk, sdk_version: SdkVersion) -> tuple[dict[str, Any] | None, str | None]:
    """A pydantic-ai chunk as (filtered dict, its JSON text), or (None, None) when dropped.
    `[DONE]` comes back as (None, "[DONE]")."""
    if isinstance(chunk, DoneChunk):
        return None, DONE
    raw = chunk.model_dump(mode="json", by_alias=True, exclude_none=True)
    filtered = filter_chunk(raw, sdk_version)
    if filtered is None:
        return None, None
    return filtered, dump_chunk(filtered)
