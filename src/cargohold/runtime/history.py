"""A chat's stored messages -> the model message history for its next turn.

Stored parts are AI SDK UIMessage parts; pydantic-ai's Vercel adapter turns them into model
messages. A turn cut off mid-tool (cancel, crash) can leave a tool call without its result, and
providers reject every later turn of such a chat (letta-ai/letta#3250), so each unanswered call
is closed with an error result here.

Parts are read through `schemas.parts.model_view`: keys a part's AI SDK shape does not have stay
in storage but never reach the model, and a stored part with no loadable shape (accepted before
parts were checked at the edge) is dropped with a log line, so a chat never breaks on its history.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pydantic import TypeAdapter
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, ToolCallPart, ToolReturnPart
from pydantic_ai.ui.vercel_ai import VercelAIAdapter
from pydantic_ai.ui.vercel_ai.request_types import UIMessage

from ..files.urls import attachment_uuid
from ..schemas.parts import model_view

__all__ = ["INTERRUPTED_TOOL_RESULT", "close_unanswered_tool_calls", "to_model_messages"]

INTERRUPTED_TOOL_RESULT = "Error: this tool call was interrupted before it returned a result."
log = logging.getLogger(__name__)
_UI_MESSAGE = TypeAdapter(UIMessage)
_TERMINAL_TOOL_STATES = {"output-available", "output-error", "output-denied"}


def to_model_messages(
    stored: Sequence[tuple[str, str, list[dict[str, Any]]]], *, images: bool = True
) -> list[ModelMessage]:
    """`stored` is (uuid, type, parts) per message, oldest first. `images`: whether the model takes
    images (its profile's `supports_image_input`); if not, an attached image becomes a short note."""
    ui: list[UIMessage] = []
    for message_uuid, kind, parts in stored:
        loadable = _loadable(message_uuid, parts, images)
        if not loadable:
            continue
        role = "assistant" if kind == "assistant" else "user"
        try:
            ui.append(_UI_MESSAGE.validate_python({"id": message_uuid, "role": role, "parts": loadable}))
        except ValueError as exc:
            log.warning("history: message %s left out of the model history (%s)", message_uuid, type(exc).__name__)
    try:
        messages = VercelAIAdapter.load_messages(ui)
    except Exception:  # one message the adapter cannot convert must not break the chat: skip it
        messages = []
        for message in ui:
            try:
                messages.extend(VercelAIAdapter.load_messages([message]))
            except Exception as exc:
                log.warning("history: message %s left out of the model history (%s)", message.id, type(exc).__name__)
    return close_unanswered_tool_calls(messages)


def _loadable(message_uuid: str, parts: Any, images: bool = True) -> list[dict[str, Any]]:
    """The parts a model can be given. Tool parts that never reached a result become error
    results, so the adapter keeps the call paired; parts still streaming input (no input yet) are
    dropped, and so is any part without a loadable shape."""
    out: list[dict[str, Any]] = []
    for index, stored_part in enumerate(parts if isinstance(parts, list) else []):
        part = model_view(stored_part)
        if part is None:
            log.warning("history: part %d of message %s has no AI SDK shape; left out", index, message_uuid)
            continue
        kind = part.get("type", "")
        if kind == "file" and (attached := _attached_file(part)) is not None:
            out.append(attached)
            continue
        if kind == "file" and not images and str(part.get("mediaType", "")).startswith("image/"):
            name = part.get("filename") or "an image"
            out.append({"type": "text", "text": f"[Attached image {name!r}: this model cannot see images]"})
            continue
        if (kind.startswith("tool-") or kind == "dynamic-tool") and part.get("state") not in _TERMINAL_TOOL_STATES:
            if "input" not in part:
                continue
            part = {**part, "state": "output-error", "errorText": INTERRUPTED_TOOL_RESULT}
        out.append(part)
    return out


def _attached_file(part: dict[str, Any]) -> dict[str, Any] | None:
    """A document attached to the chat (a file of this server, `files/attachments.py`) is shown to
    the model as a note: its text is reached with the `file_search` tool, not inlined."""
    url = part.get("url")
    if not isinstance(url, str) or attachment_uuid(url) is None:
        return None
    name = part.get("filename") or "a file"
    return {
        "type": "text",
        "text": f"[Attached file {name!r} ({part.get('mediaType')}): search its text with the file_search tool]",
    }


def close_unanswered_tool_calls(messages: list[ModelMessage]) -> list[ModelMessage]:
    answered = {
        p.tool_call_id for m in messages if isinstance(m, ModelRequest) for p in m.parts if hasattr(p, "tool_call_id")
    }
    out: list[ModelMessage] = []
    for i, message in enumerate(messages):
        out.append(message)
        if not isinstance(message, ModelResponse):
            continue
        missing = [p for p in message.parts if isinstance(p, ToolCallPart) and p.tool_call_id not in answered]
        if not missing:
            continue
        results = [
            ToolReturnPart(tool_name=p.tool_name, tool_call_id=p.tool_call_id, content=INTERRUPTED_TOOL_RESULT)
            for p in missing
        ]
        following = messages[i + 1] if i + 1 < len(messages) else None
        if isinstance(following, ModelRequest):
            messages[i + 1] = ModelRequest(parts=[*results, *following.parts], instructions=following.instructions)
        else:
            out.append(ModelRequest(parts=results))
    return out
