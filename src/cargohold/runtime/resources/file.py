"""A `file` resource as a tool of a turn (cargo-ai-api §2.4), and the search tool it shares with
the `fileSearch` capability (`runtime/capabilities/file_search.py`).

The resource becomes a tool named by its `slug` that takes `{"query": "..."}` and searches (hybrid:
keyword and meaning, `knowledge/index.search`) only its files, and the files in its folders as they
are when the tool is called. It answers `{outcome: "executed", data: {results: [{fileUuid,
fileName, location, text, score}]}}`, and each result is also a `source-document` chunk of the
stream (and a part of the stored message), so AI SDK front ends can show citations. Files that are
not indexed yet are simply not found; deleted files are never found.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic_ai import RunContext, Tool
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.toolsets import FunctionToolset
from sqlalchemy.ext.asyncio import AsyncSession

from ...db.tables import StoredFile
from ...files.embedder import shared_embedder
from ...knowledge.index import default_cache, search
from ...schemas.resources import FileResource
from ...store import files as store
from ..context import ToolSource, TurnContext

__all__ = ["QUERY_SCHEMA", "TOP_K", "file_resource", "search_tool"]

TOP_K = 5
QUERY_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to look for, in words or exact terms."}},
    "required": ["query"],
    "additionalProperties": False,
}

FilesOf = Callable[[AsyncSession], Awaitable[Sequence[StoredFile]]]
"""The files a search may see, read when the tool is called."""


def search_tool(name: str, description: str, files_of: FilesOf, ctx: TurnContext) -> Tool[Any]:
    async def run(_: RunContext[Any], query: str) -> dict[str, Any]:
        if not query.strip():
            raise ToolFailed("`query` is empty: say what to look for")
        embedder = await shared_embedder(ctx.settings)
        async with ctx.sessions() as session:
            files = {f.uuid: f for f in await files_of(session)}
            hits = []
            if files:
                hits = await search(
                    session,
                    embedder,
                    ctx.workspace_uuid,
                    query,
                    file_uuids=list(files),
                    top_k=TOP_K,
                    cache=default_cache.sized(ctx.settings.knowledge_vector_cache_rows),
                )
        results = []
        for hit in hits:
            file = files.get(hit.file_uuid)
            if file is None:  # never a file outside the tool's reach
                continue
            results.append(
                {
                    "fileUuid": str(file.uuid),
                    "fileName": file.name,
                    "location": hit.location,
                    "text": hit.text,
                    "score": hit.score,
                }
            )
            await ctx.emit(
                {
                    "type": "source-document",
                    "sourceId": f"{file.uuid}:{hit.chunk_id}",
                    "mediaType": file.content_type,
                    "title": f"{file.name} ({hit.location})" if hit.location else file.name,
                    "filename": file.name,
                }
            )
        return {"outcome": "executed", "data": {"results": results}}

    return Tool.from_schema(run, name=name, description=description, json_schema=QUERY_SCHEMA, takes_ctx=True)


def _describe(resource: FileResource) -> str:
    lines = [text for text in (resource.name, resource.description, resource.prompt) if text]
    lines.append(
        f"Search these documents by meaning or exact terms; returns up to {TOP_K} passages, each with "
        "its file, location (page, sheet or heading) and a score. Cite the file you use."
    )
    return "\n\n".join(lines)


async def file_resource(resource: FileResource, ctx: TurnContext) -> ToolSource:
    file_uuids: list[uuid.UUID] = []
    folder_uuids: list[uuid.UUID] = []
    for item in resource.items:
        if (file_uuid := getattr(item, "file_uuid", None)) is not None:
            file_uuids.append(file_uuid)
        if (folder_uuid := getattr(item, "folder_uuid", None)) is not None:
            folder_uuids.append(folder_uuid)

    async def files_of(session: AsyncSession) -> Sequence[StoredFile]:
        return await store.files_in(session, ctx.workspace_uuid, file_uuids, folder_uuids)

    items = [item.model_dump(mode="json", by_alias=True) for item in resource.items]
    source = ToolSource(toolsets=[FunctionToolset([search_tool(resource.slug, _describe(resource), files_of, ctx)])])
    source.evaluated[resource.slug] = {"kind": "file", "name": resource.name or resource.slug, "items": items}
    return source
