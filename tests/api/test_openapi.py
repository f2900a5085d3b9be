"""The OpenAPI document: served, complete, and every reference in it resolves."""

from __future__ import annotations

from typing import Any

import httpx

from ..harness import Server


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in refs(value)]
    return []


class TestOpenApi:
    async def test_document(self, server: Server) -> None:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            doc = (await client.get("/openapi.json")).json()
        assert set(doc["paths"]) >= {
            "/v1/ai/chats",
            "/v1/ai/chats/list",
            "/v1/ai/chats/{uuid}",
            "/v1/ai/chats/{uuid}/stream",
            "/v1/ai/messages",
            "/v1/ai/messages/stream",
            "/v1/ai/messages/cancel",
            "/v1/ai/messages/list",
            "/v1/ai/messages/{uuid}",
        }
        schemas = doc["components"]["schemas"]
        for ref in refs(doc):
            assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
        stream_body = schemas["MessageStream"]
        assert {"chatUuid", "parts", "chatTrigger", "maxSteps"} <= set(stream_body["properties"])
        assert stream_body["additionalProperties"] is False
