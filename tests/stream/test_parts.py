"""Folding chunks into parts like the AI SDK client. Unit-level for the chunk kinds no scripted
provider produces (data parts replaced by id, transient data, sources, approval)."""

from __future__ import annotations

from cargohold.services.finish import close_parts
from cargohold.stream.parts import PartsBuilder


def fold(*chunks: dict) -> PartsBuilder:
    builder = PartsBuilder()
    for chunk in chunks:
        builder.add(chunk)
    return builder


class TestFold:
    def test_data_parts_replace_by_id_and_transient_is_not_stored(self) -> None:
        b = fold(
            {"type": "data-progress", "id": "p", "data": {"pct": 10}},
            {"type": "data-progress", "id": "p", "data": {"pct": 90}},
            {"type": "data-note", "data": "kept"},
            {"type": "data-ping", "data": 1, "transient": True},
        )
        assert b.parts == [
            {"type": "data-progress", "id": "p", "data": {"pct": 90}},
            {"type": "data-note", "data": "kept"},
        ]

    def test_dynamic_tool_sources_and_reasoning(self) -> None:
        b = fold(
            {"type": "start-step"},
            {"type": "reasoning-start", "id": "r"},
            {"type": "reasoning-delta", "id": "r", "delta": "think"},
            {"type": "reasoning-end", "id": "r"},
            {"type": "tool-input-start", "toolCallId": "c", "toolName": "q", "dynamic": True},
            {"type": "tool-input-delta", "toolCallId": "c", "inputTextDelta": '{"a":'},
            {"type": "tool-input-delta", "toolCallId": "c", "inputTextDelta": "1}"},
            {"type": "tool-output-error", "toolCallId": "c", "errorText": "boom"},
            {"type": "source-url", "sourceId": "s", "url": "https://example.com"},
        )
        assert b.parts == [
            {"type": "step-start"},
            {"type": "reasoning", "text": "think", "state": "done"},
            {
                "type": "dynamic-tool",
                "toolName": "q",
                "toolCallId": "c",
                "state": "output-error",
                "input": {"a": 1},
                "errorText": "boom",
            },
            {"type": "source-url", "sourceId": "s", "url": "https://example.com"},
        ]

    def test_cut_off_text_is_stored_done(self) -> None:
        b = fold(
            {"type": "start-step"},
            {"type": "text-start", "id": "t"},
            {"type": "text-delta", "id": "t", "delta": "half"},
        )
        # How every ending stores it (services/finish.close_parts, for the run and the reaper alike).
        assert close_parts(b.parts, "error")[-1] == {"type": "text", "text": "half", "state": "done"}
        assert b.step_chars == 4
