"""What a tool's result carries for the stream besides its output: sources and files.

A tool returns `with_attachments(output, sources=[...], files=[...])`, a pydantic-ai `ToolReturn`
whose `metadata` (never sent to the model) holds plain JSON. The turn's stream encoder
(`stream/writer.TurnEncoder`) sends each source after the tool's output as a `source-url` or
`source-document` chunk and each file as a `file` chunk, so they are stored as parts of the
assistant message too. Plain JSON keeps the result serialisable (durable execution stores it).

    return with_attachments(
        {"results": results},
        sources=[url_source(r["url"], r["title"]) for r in results],
    )
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypedDict

from pydantic_ai.messages import ToolReturn

__all__ = [
    "Attachments",
    "FileAttachment",
    "Source",
    "attachments_of",
    "document_source",
    "file_attachment",
    "url_source",
    "with_attachments",
]

_KEY = "cargohold.attachments"


class Source(TypedDict, total=False):
    kind: Literal["url", "document"]
    url: str
    """`url` sources: the page."""
    title: str
    mediaType: str
    """`document` sources: the document's media type."""
    filename: str
    sourceId: str
    """Defaults to `<toolCallId>-<n>`."""


class FileAttachment(TypedDict):
    url: str
    """A data URL, or a URL the client can fetch."""
    mediaType: str


class Attachments(TypedDict):
    sources: list[Source]
    files: list[FileAttachment]


def url_source(url: str, title: str | None = None) -> Source:
    source: Source = {"kind": "url", "url": url}
    if title:
        source["title"] = title
    return source


def document_source(title: str, media_type: str, filename: str | None = None, source_id: str | None = None) -> Source:
    source: Source = {"kind": "document", "title": title, "mediaType": media_type}
    if filename:
        source["filename"] = filename
    if source_id:
        source["sourceId"] = source_id
    return source


def file_attachment(url: str, media_type: str) -> FileAttachment:
    return {"url": url, "mediaType": media_type}


def with_attachments(
    output: Any, *, sources: Iterable[Source] = (), files: Iterable[FileAttachment] = ()
) -> ToolReturn[Any]:
    return ToolReturn(output, metadata={_KEY: Attachments(sources=list(sources), files=list(files))})


def attachments_of(metadata: Any) -> Attachments | None:
    """The attachments a tool result's metadata carries, or None."""
    if isinstance(metadata, dict):
        found = metadata.get(_KEY)
        if isinstance(found, dict):
            return Attachments(sources=list(found.get("sources") or []), files=list(found.get("files") or []))
    return None
