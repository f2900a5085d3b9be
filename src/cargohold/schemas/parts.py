"""AI SDK UIMessage parts, checked once at the edge against pydantic-ai's part models.

A client's part must have a shape the configured AI SDK version knows (text, reasoning, file,
source-url, source-document, step-start, data-*, tool-* / dynamic-tool in one of their states):
an unknown type or a malformed part is a 400 naming the part and the field, and nothing is
stored. Keys a known part does not have are kept in storage (AI SDK versions differ, and a
client may round-trip its own keys) but `model_view` leaves them out, so they never reach the
model. The same `model_view` reads stored history: a part written before this check existed and
still not loadable is dropped there (with a log line), so no chat is broken by its own history.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_ai.ui.vercel_ai import request_types as rt
from pydantic_core import PydanticCustomError

from .safe import check_free_json

__all__ = ["PartError", "check_parts", "model_view"]

_SIMPLE: dict[str, type[BaseModel]] = {
    "text": rt.TextUIPart,
    "reasoning": rt.ReasoningUIPart,
    "file": rt.FileUIPart,
    "source-url": rt.SourceUrlUIPart,
    "source-document": rt.SourceDocumentUIPart,
    "step-start": rt.StepStartUIPart,
}
_TOOL_STATES: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "input-streaming": (rt.ToolInputStreamingPart, rt.DynamicToolInputStreamingPart),
    "input-available": (rt.ToolInputAvailablePart, rt.DynamicToolInputAvailablePart),
    "output-available": (rt.ToolOutputAvailablePart, rt.DynamicToolOutputAvailablePart),
    "output-error": (rt.ToolOutputErrorPart, rt.DynamicToolOutputErrorPart),
    "approval-requested": (rt.ToolApprovalRequestedPart, rt.DynamicToolApprovalRequestedPart),
    "approval-responded": (rt.ToolApprovalRespondedPart, rt.DynamicToolApprovalRespondedPart),
    "output-denied": (rt.ToolOutputDeniedPart, rt.DynamicToolOutputDeniedPart),
}
_APPROVAL_STATES = frozenset({"approval-requested", "approval-responded", "output-denied"})
"""Tool approval arrived in AI SDK 6: a 5.x client has no such states."""


class PartError(ValueError):
    """A part that has no known shape; the message names the part and the field."""


@cache
def _keys(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(field.alias or name for name, field in model.model_fields.items())


def _model_for(part: dict[str, Any], sdk_version: int) -> type[BaseModel]:
    kind = part.get("type")
    if not isinstance(kind, str) or not kind:
        raise PartError("`type` must be a non-empty string")
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind.startswith("data-") and len(kind) > len("data-"):
        return rt.DataUIPart
    if (kind.startswith("tool-") and len(kind) > len("tool-")) or kind == "dynamic-tool":
        state = part.get("state", "input-streaming")
        if not isinstance(state, str) or state not in _TOOL_STATES or (state in _APPROVAL_STATES and sdk_version < 6):
            known = sorted(s for s in _TOOL_STATES if sdk_version >= 6 or s not in _APPROVAL_STATES)
            raise PartError(f"`state` must be one of {', '.join(known)}")
        static, dynamic = _TOOL_STATES[state]
        return dynamic if kind == "dynamic-tool" else static
    raise PartError(
        f"unknown part type {_quote(kind)}: expected text, reasoning, file, source-url, source-document, "
        "step-start, data-<name>, tool-<name> or dynamic-tool"
    )


def _quote(text: str) -> str:
    shown = text if len(text) <= 60 else text[:60] + "..."
    return "`" + shown.encode("unicode_escape").decode("ascii") + "`"


def _validated(part: Any, sdk_version: int) -> dict[str, Any]:
    if not isinstance(part, dict):
        raise PartError("a part must be a JSON object")
    model = _model_for(part, sdk_version)
    view = {k: v for k, v in part.items() if k in _keys(model)}
    try:
        model.model_validate(view)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in error["loc"]) or "part"
        raise PartError(f"`{where}`: {error['msg']}") from None
    return view


def check_parts(parts: Iterable[Any], sdk_version: int, *, max_parts: int, max_text_chars: int) -> None:
    """Raise `PartError` naming the first part that is not a known AI SDK part shape."""
    for i, part in enumerate(parts):
        if i >= max_parts:
            raise PartError(f"`parts`: at most {max_parts} parts per message")
        try:
            view = _validated(part, sdk_version)
        except PartError as exc:
            kind = part.get("type") if isinstance(part, dict) else None
            label = f" ({_quote(kind)})" if isinstance(kind, str) and kind else ""
            raise PartError(f"`parts[{i}]`{label}: {exc}") from None
        text = view.get("text")
        if isinstance(text, str) and len(text) > max_text_chars:
            raise PartError(f"`parts[{i}].text`: at most {max_text_chars} characters per part")
        for field in ("data", "input", "output", "providerMetadata"):
            if field in view:
                try:
                    check_free_json(view[field])
                except PydanticCustomError as exc:
                    raise PartError(f"`parts[{i}].{field}`: {exc}") from None


def model_view(part: Any, sdk_version: int = 7) -> dict[str, Any] | None:
    """The part with only the keys its AI SDK shape has, or None when it has no known shape."""
    try:
        return _validated(part, sdk_version)
    except PartError:
        return None
