"""Chunk fields per AI SDK version. Unit-level because no model or provider we can script emits
every chunk type (approval requests, provider metadata on tool starts), yet each must be right."""

from __future__ import annotations

import json

import pytest
from pydantic_ai.ui.vercel_ai.response_types import (
    DoneChunk,
    FinishChunk,
    TextDeltaChunk,
    ToolApprovalRequestChunk,
    ToolInputStartChunk,
)

from cargohold.stream.chunks import encode_chunk, filter_chunk


class TestVersions:
    def test_finish_reason_is_v6_plus(self) -> None:
        chunk = FinishChunk(finish_reason="stop", message_metadata={"usage": {"a": 1}})
        assert encode_chunk(chunk, 5)[1] == '{"type":"finish","messageMetadata":{"usage":{"a":1}}}'
        assert json.loads(encode_chunk(chunk, 6)[1] or "")["finishReason"] == "stop"

    def test_tool_input_start_provider_metadata_is_v6_plus(self) -> None:
        chunk = ToolInputStartChunk(tool_call_id="c", tool_name="t", provider_metadata={"openai": {"id": "x"}})
        assert encode_chunk(chunk, 5)[0] == {"type": "tool-input-start", "toolCallId": "c", "toolName": "t"}
        assert encode_chunk(chunk, 6)[0] == {
            "type": "tool-input-start",
            "toolCallId": "c",
            "toolName": "t",
            "providerMetadata": {"openai": {"id": "x"}},
        }

    @pytest.mark.parametrize(("version", "kept"), [(5, False), (6, True), (7, True)])
    def test_approval_request_needs_v6(self, version: int, kept: bool) -> None:
        chunk = ToolApprovalRequestChunk(approval_id="a", tool_call_id="c")
        assert (encode_chunk(chunk, version)[1] is not None) is kept  # type: ignore[arg-type]

    def test_unknown_keys_and_nulls_are_dropped(self) -> None:
        assert filter_chunk(
            {"type": "text-delta", "id": "t", "delta": "x", "extra": 1, "providerMetadata": None}, 5
        ) == {"type": "text-delta", "id": "t", "delta": "x"}
        assert filter_chunk({"type": "data-weather", "data": {"c": 1}, "transient": True, "x": 2}, 5) == {
            "type": "data-weather",
            "data": {"c": 1},
            "transient": True,
        }
        assert filter_chunk({"type": "custom", "kind": "x.y"}, 6) is None
        assert filter_chunk({"type": "custom", "kind": "x.y"}, 7) == {"type": "custom", "kind": "x.y"}

    def test_compact_raw_utf8_and_done(self) -> None:
        assert encode_chunk(TextDeltaChunk(id="t", delta="héllo ✓"), 5)[1] == (
            '{"type":"text-delta","delta":"héllo ✓","id":"t"}'
        )
        assert encode_chunk(DoneChunk(), 5) == (None, "[DONE]")
