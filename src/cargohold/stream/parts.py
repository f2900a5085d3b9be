"""Fold UI message stream chunks into the assistant message's `parts`, the way the AI SDK client
does (`process-ui-message-stream.ts`), so what we store is what a `useChat` client shows."""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

__all__ = ["PartsBuilder"]

_TOOL_STATE_BY_CHUNK = {
    "tool-input-available": "input-available",
    "tool-output-available": "output-available",
    "tool-output-error": "output-error",
    "tool-input-error": "output-error",
    "tool-output-denied": "output-denied",
    "tool-approval-request": "approval-requested",
}
_TOOL_FIELDS = ("input", "output", "errorText", "providerExecuted", "preliminary", "title")


class PartsBuilder:
    def __init__(self) -> None:
        self.parts: list[dict[str, Any]] = []
        self.metadata: dict[str, Any] = {}
        self.error_text: str | None = None
        self._open: dict[tuple[str, str], dict[str, Any]] = {}
        self._tools: dict[str, dict[str, Any]] = {}
        self._tool_text: dict[str, str] = {}
        self.step_chars = 0
        """Characters the model streamed in the current step (text, reasoning, tool input) whose
        model response has not completed: a tool call being run means the response completed."""

    def add(self, chunk: dict[str, Any]) -> None:
        kind: str = chunk["type"]
        if kind == "start-step":
            self.parts.append({"type": "step-start"})
            self.step_chars = 0
        elif kind == "finish-step":
            self._open.clear()
        elif kind in ("text-start", "reasoning-start"):
            part_type = kind.removesuffix("-start")
            part: dict[str, Any] = {"type": part_type, "text": "", "state": "streaming"}
            if "providerMetadata" in chunk:
                part["providerMetadata"] = chunk["providerMetadata"]
            self.parts.append(part)
            self._open[(part_type, chunk["id"])] = part
        elif kind in ("text-delta", "reasoning-delta"):
            growing = self._open.get((kind.removesuffix("-delta"), chunk["id"]))
            self.step_chars += len(chunk["delta"])
            if growing is not None:
                growing["text"] += chunk["delta"]
        elif kind in ("text-end", "reasoning-end"):
            ended = self._open.pop((kind.removesuffix("-end"), chunk["id"]), None)
            if ended is not None:
                ended["state"] = "done"
                if "providerMetadata" in chunk:
                    ended["providerMetadata"] = chunk["providerMetadata"]
        elif kind == "tool-input-start":
            part = self._tool_part(chunk)
            part["state"] = "input-streaming"
            self._tool_text[chunk["toolCallId"]] = ""
        elif kind == "tool-input-delta":
            call_id = chunk["toolCallId"]
            text = self._tool_text.get(call_id, "") + chunk["inputTextDelta"]
            self.step_chars += len(chunk["inputTextDelta"])
            self._tool_text[call_id] = text
            if call_id in self._tools:
                # A partial JSON fragment stays unparsed until the next delta completes it.
                with suppress(ValueError):
                    self._tools[call_id]["input"] = json.loads(text)
        elif kind in _TOOL_STATE_BY_CHUNK:
            self.step_chars = 0
            part = self._tool_part(chunk)
            part["state"] = _TOOL_STATE_BY_CHUNK[kind]
            for field in _TOOL_FIELDS:
                if field in chunk:
                    part[field] = chunk[field]
            if kind == "tool-approval-request":
                part["approval"] = {"id": chunk["approvalId"]}
        elif kind in ("source-url", "source-document", "file"):
            self.parts.append(dict(chunk))
        elif kind.startswith("data-"):
            self._data(chunk)
        elif kind in ("start", "finish", "message-metadata"):
            if isinstance(chunk.get("messageMetadata"), dict):
                self.metadata.update(chunk["messageMetadata"])
        elif kind == "error":
            self.error_text = chunk.get("errorText")

    def _tool_part(self, chunk: dict[str, Any]) -> dict[str, Any]:
        call_id = chunk["toolCallId"]
        part = self._tools.get(call_id)
        if part is None:
            name = chunk.get("toolName", "unknown")
            part = {"type": "dynamic-tool", "toolName": name} if chunk.get("dynamic") else {"type": f"tool-{name}"}
            part["toolCallId"] = call_id
            self.parts.append(part)
            self._tools[call_id] = part
        return part

    def _data(self, chunk: dict[str, Any]) -> None:
        if chunk.get("transient"):
            return
        part = {k: v for k, v in chunk.items() if k in ("type", "id", "data")}
        if "id" in part:
            for i, existing in enumerate(self.parts):
                if existing.get("type") == part["type"] and existing.get("id") == part["id"]:
                    self.parts[i] = part
                    return
        self.parts.append(part)
