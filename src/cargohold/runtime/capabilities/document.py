"""The `document` capability (Canvas): the model writes documents the user sees beside the chat.

Tools `create_document {title, kind, content}` and `update_document {documentUuid, content}`; each
write is a new version `(uuid, createdAt)` (routes: `/v1/ai/documents`). The turn streams each
write as the `data-*` parts AI SDK chat templates render artifacts with (vercel/ai-chatbot):
`data-kind`, `data-id`, `data-title`, `data-clear`, the content as `data-textDelta` (appended
pieces) or `data-codeDelta` / `data-sheetDelta` / `data-imageDelta` (the whole content), then
`data-finish`, all `transient` (shown, not stored in the message: the tool part keeps the
document's uuid). They go out just before the tool's output (`ui_parts.with_data_parts`).
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic_ai import RunContext, Tool
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.messages import ToolReturn
from pydantic_ai.toolsets import FunctionToolset

from ...schemas.capabilities import Capability
from ..context import ToolSource, TurnContext
from .ports import DocumentVersion
from .ui_parts import with_data_parts

__all__ = ["DOCUMENT_KINDS", "MAX_DOCUMENT_CHARS", "document", "document_parts"]

DOCUMENT_KINDS = ("text", "code", "image", "sheet")
MAX_DOCUMENT_CHARS = 1_000_000
TEXT_PIECE_CHARS = 400
_CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "The document's title."},
        "kind": {
            "type": "string",
            "enum": list(DOCUMENT_KINDS),
            "description": "text (Markdown), code, sheet (CSV) or image (a data URL or an image URL).",
        },
        "content": {"type": "string", "description": "The whole content of the document."},
    },
    "required": ["title", "kind", "content"],
    "additionalProperties": False,
}
_UPDATE_SCHEMA = {
    "type": "object",
    "properties": {
        "documentUuid": {"type": "string", "description": "The uuid `create_document` returned."},
        "content": {"type": "string", "description": "The whole new content (it replaces the current one)."},
    },
    "required": ["documentUuid", "content"],
    "additionalProperties": False,
}


def _pieces(content: str) -> list[str]:
    """Text in pieces of about TEXT_PIECE_CHARS, cut after a space where one is near."""
    pieces, start = [], 0
    while start < len(content):
        end = min(len(content), start + TEXT_PIECE_CHARS)
        if end < len(content):
            space = content.rfind(" ", start + TEXT_PIECE_CHARS // 2, end)
            end = space + 1 if space > 0 else end
        pieces.append(content[start:end])
        start = end
    return pieces or [""]


def document_parts(version: DocumentVersion) -> list[dict[str, Any]]:
    """The stream parts of one written version, as ai-chatbot's artifact client reads them."""

    def part(name: str, data: Any) -> dict[str, Any]:
        return {"type": f"data-{name}", "data": data, "transient": True}

    parts = [
        part("kind", version.kind),
        part("id", str(version.uuid)),
        part("title", version.title or ""),
        part("clear", None),
    ]
    if version.kind == "text":
        parts.extend(part("textDelta", piece) for piece in _pieces(version.content))
    else:
        parts.append(part(f"{version.kind}Delta", version.content))
    parts.append(part("finish", None))
    return parts


def _result(version: DocumentVersion, message: str) -> ToolReturn[Any]:
    data = {
        "documentUuid": str(version.uuid),
        "createdAt": version.created_at.isoformat(),
        "title": version.title,
        "kind": version.kind,
        "message": message,
    }
    return with_data_parts({"outcome": "executed", "data": data}, document_parts(version))


def _checked(content: str) -> str:
    if len(content) > MAX_DOCUMENT_CHARS:
        raise ToolFailed(f"a document holds at most {MAX_DOCUMENT_CHARS} characters")
    return content


async def document(capability: Capability, ctx: TurnContext) -> ToolSource:
    if ctx.ports is None:
        return ToolSource(errors=[{"name": "document", "kind": "capability", "errorMessage": "no document store"}])
    documents = ctx.ports.documents

    async def create_document(run: RunContext[Any], title: str, kind: str, content: str) -> ToolReturn[Any]:
        if kind not in DOCUMENT_KINDS:
            raise ToolFailed(f"`kind` must be one of {', '.join(DOCUMENT_KINDS)}")
        version = await documents.create(title.strip()[:500], kind, _checked(content))
        return _result(version, "The document was created and is shown to the user.")

    async def update_document(run: RunContext[Any], documentUuid: str, content: str) -> ToolReturn[Any]:
        try:
            document_uuid = uuid.UUID(documentUuid)
        except ValueError:
            raise ToolFailed("`documentUuid` is not a uuid: give the one `create_document` returned") from None
        version = await documents.update(document_uuid, _checked(content))
        if version is None:
            raise ToolFailed(f"no document {documentUuid} in this workspace")
        return _result(version, "The document was updated (a new version) and is shown to the user.")

    tools = [
        Tool.from_schema(
            create_document,
            name="create_document",
            description="Create a document shown to the user beside the chat (an essay, code, a table, ...). "
            "Use it for content the user will edit or reuse; give its whole content.",
            json_schema=_CREATE_SCHEMA,
            takes_ctx=True,
        ),
        Tool.from_schema(
            update_document,
            name="update_document",
            description="Replace the content of a document created earlier (a new version; older ones are kept).",
            json_schema=_UPDATE_SCHEMA,
            takes_ctx=True,
        ),
    ]
    instructions = (
        "You can write documents shown beside the chat with `create_document` and revise them with "
        "`update_document` (its `documentUuid` is in `create_document`'s result). Do not repeat a "
        "document's content in your answer: say briefly what you wrote."
    )
    return ToolSource(toolsets=[FunctionToolset(tools)], instructions=[instructions])
