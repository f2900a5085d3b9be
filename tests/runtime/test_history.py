"""History handed to a model never holds a tool call without its result. Unit-level because the
stored shapes that need closing (a crash mid-tool, input still streaming) are hard to produce
exactly over HTTP; the API test of cancel-mid-tool covers the common path end to end."""

from __future__ import annotations

from pydantic_ai.messages import ModelRequest, ModelResponse, ToolCallPart, ToolReturnPart, UserPromptPart

from cargohold.runtime.history import INTERRUPTED_TOOL_RESULT, close_unanswered_tool_calls, to_model_messages


def tool_ids(messages: list) -> tuple[list[str], list[str]]:
    calls = [
        p.tool_call_id for m in messages if isinstance(m, ModelResponse) for p in m.parts if isinstance(p, ToolCallPart)
    ]
    results = [
        p.tool_call_id
        for m in messages
        if isinstance(m, ModelRequest)
        for p in m.parts
        if isinstance(p, ToolReturnPart)
    ]
    return calls, results


class TestHistory:
    def test_stored_parts_with_an_unfinished_tool(self) -> None:
        stored = [
            ("u1", "user", [{"type": "text", "text": "look it up"}]),
            (
                "a1",
                "assistant",
                [
                    {"type": "step-start"},
                    {"type": "tool-lookup", "toolCallId": "c1", "state": "input-available", "input": {"q": 1}},
                    {"type": "tool-lookup", "toolCallId": "c2", "state": "input-streaming"},
                ],
            ),
            ("u2", "user", [{"type": "text", "text": "again"}]),
        ]
        messages = to_model_messages(stored)
        calls, results = tool_ids(messages)
        assert calls == ["c1"] and results == ["c1"]
        assert isinstance(messages[-1], ModelRequest)
        assert isinstance(messages[-1].parts[-1], UserPromptPart)

    def test_close_adds_results_where_missing(self) -> None:
        messages = [
            ModelRequest(parts=[UserPromptPart("hi")]),
            ModelResponse(parts=[ToolCallPart("t", {}, tool_call_id="x"), ToolCallPart("t", {}, tool_call_id="y")]),
            ModelRequest(parts=[ToolReturnPart("t", "ok", tool_call_id="x"), UserPromptPart("next")]),
        ]
        closed = close_unanswered_tool_calls(messages)
        calls, results = tool_ids(closed)
        assert sorted(results) == ["x", "y"] and calls == ["x", "y"]
        added = next(
            p
            for m in closed
            if isinstance(m, ModelRequest)
            for p in m.parts
            if isinstance(p, ToolReturnPart) and p.tool_call_id == "y"
        )
        assert added.content == INTERRUPTED_TOOL_RESULT
