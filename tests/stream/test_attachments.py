"""A tool result's attachments (`runtime/attachments`) as stream chunks. A unit test of the encoder:
`source-document` has no tool that sends it yet (the files capability will), so no turn can show
it over HTTP; `source-url` and `file` are covered end to end in tests/capabilities."""

from __future__ import annotations

from pydantic_ai.messages import FunctionToolResultEvent, ToolReturn, ToolReturnPart

from cargohold.runtime.attachments import document_source, file_attachment, url_source, with_attachments
from cargohold.runtime.toolsets.guard import cap_output
from cargohold.stream.writer import TurnEncoder


async def test_sources_and_files_follow_the_output() -> None:
    returned = with_attachments(
        {"answer": 42},
        sources=[url_source("https://example.org/a", "A"), document_source("Handbook", "application/pdf", "h.pdf")],
        files=[file_attachment("data:text/plain;base64,eA==", "text/plain")],
    )
    part = ToolReturnPart("lookup", returned.return_value, tool_call_id="call_1", metadata=returned.metadata)
    encoder = TurnEncoder(None, sdk_version=5)
    chunks = [
        c.model_dump(mode="json", by_alias=True, exclude_none=True)
        async for c in encoder.handle_function_tool_result(FunctionToolResultEvent(part=part))
    ]
    assert [c["type"] for c in chunks] == ["tool-output-available", "source-url", "source-document", "file"]
    assert chunks[0]["output"] == {"answer": 42}
    assert chunks[1] == {"type": "source-url", "sourceId": "call_1-1", "url": "https://example.org/a", "title": "A"}
    assert chunks[2] == {
        "type": "source-document",
        "sourceId": "call_1-2",
        "mediaType": "application/pdf",
        "title": "Handbook",
        "filename": "h.pdf",
    }
    assert chunks[3] == {"type": "file", "url": "data:text/plain;base64,eA==", "mediaType": "text/plain"}


async def test_a_result_without_attachments_is_only_its_output() -> None:
    part = ToolReturnPart("lookup", "plain", tool_call_id="call_2", metadata={"other": "metadata"})
    encoder = TurnEncoder(None, sdk_version=5)
    chunks = [c async for c in encoder.handle_function_tool_result(FunctionToolResultEvent(part=part))]
    assert [c.type for c in chunks] == ["tool-output-available"]


def test_the_guard_caps_the_output_and_keeps_the_attachments() -> None:
    returned = with_attachments("x" * 5000, sources=[url_source("https://example.org/a")])
    capped = cap_output(returned, 1000)
    assert isinstance(capped, ToolReturn) and capped.metadata == returned.metadata
    assert capped.return_value.startswith('"' + "x" * 100) and "output cut by the server" in capped.return_value
