"""The `document` capability (Canvas) and votes over real HTTP: the fake model writes and revises
documents; each write is a version, streamed as the `data-*` parts ai-chatbot's artifact client
reads; versions are listed and reset; every route answers only inside the caller's workspace."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import Server, kind, new_uuid, stream_body, stream_turn
from .conftest import new_tenant

pytestmark = pytest.mark.asyncio(loop_scope="module")

DOCUMENT = [{"slug": "document"}]
ESSAY = "# Tides\n\n" + " ".join(f"The moon pulls the sea, sentence {i}." for i in range(40))


def data_parts(chunks: list[Any]) -> list[dict[str, Any]]:
    return [c for c in chunks if kind(c).startswith("data-")]


async def turn(tenant: Tenant, llm: FakeLLM, call: ToolCall, **body: Any) -> tuple[list[Any], dict[str, Any]]:
    llm.script(Reply(tool_calls=[call]), Reply(text="Done."))
    response, chunks = await stream_turn(tenant.client, stream_body(text="Write it.", capabilities=DOCUMENT, **body))
    assert response.status_code == 200, response.text
    [output] = [c["output"] for c in chunks if kind(c) == "tool-output-available"]
    return chunks, output


class TestDocumentTurns:
    async def test_written_versioned_streamed_and_reset(self, ws: Tenant, caps_llm: FakeLLM) -> None:
        chat = new_uuid()
        create = ToolCall("create_document", {"title": "Tides", "kind": "text", "content": ESSAY})
        chunks, output = await turn(ws, caps_llm, create, chatUuid=chat)
        document_uuid = output["data"]["documentUuid"]
        parts = data_parts(chunks)
        names = [p["type"] for p in parts]
        assert names[:4] == ["data-kind", "data-id", "data-title", "data-clear"] and names[-1] == "data-finish"
        assert [p["data"] for p in parts[:3]] == ["text", document_uuid, "Tides"]
        deltas = [p["data"] for p in parts if p["type"] == "data-textDelta"]
        assert len(deltas) > 1 and "".join(deltas) == ESSAY
        assert all(p.get("transient") is True for p in parts)
        # Shown before the tool's output, after its input.
        order = [kind(c) for c in chunks]
        assert order.index("tool-input-available") < order.index("data-kind") < order.index("tool-output-available")

        update = ToolCall("update_document", {"documentUuid": document_uuid, "content": "print('tides')"})
        chunks, output = await turn(ws, caps_llm, update, chatUuid=chat)
        assert output["data"]["documentUuid"] == document_uuid and output["data"]["kind"] == "text"

        latest = (await ws.client.get(f"/v1/ai/documents/{document_uuid}")).json()["document"]
        assert latest["content"] == "print('tides')" and latest["title"] == "Tides"
        versions = (await ws.client.get("/v1/ai/documents/list", params={"uuid": document_uuid})).json()["documents"]
        assert [v["content"] for v in versions] == [ESSAY, "print('tides')"]
        assert versions[0]["createdAt"] < versions[1]["createdAt"]

        response = await ws.client.post(
            "/v1/ai/documents/reset", json={"uuid": document_uuid, "createdAt": versions[0]["createdAt"]}
        )
        assert response.status_code == 200, response.text
        assert response.json()["document"]["content"] == ESSAY
        assert (await ws.client.get(f"/v1/ai/documents/{document_uuid}")).json()["document"]["content"] == ESSAY
        versions = (await ws.client.get("/v1/ai/documents/list", params={"uuid": document_uuid})).json()["documents"]
        assert len(versions) == 1

        # The stored message keeps the tool part (with the uuid), not the transient data parts.
        messages = (await ws.client.get("/v1/ai/messages/list", params={"chatUuid": chat})).json()["messages"]
        stored = messages[1]
        assert not [p for p in stored["parts"] if p["type"].startswith("data-")]
        tool = next(p for p in stored["parts"] if p["type"] == "tool-create_document")
        assert tool["output"]["data"]["documentUuid"] == document_uuid
        assert stored["evaluatedTools"]["create_document"] == {
            "kind": "capability",
            "name": "create_document",
            "slug": "document",
        }

    async def test_code_is_streamed_whole_and_bad_calls_are_tool_errors(self, ws: Tenant, caps_llm: FakeLLM) -> None:
        code = "def tide():\n    return 'high'\n"
        chunks, _ = await turn(
            ws, caps_llm, ToolCall("create_document", {"title": "tide.py", "kind": "code", "content": code})
        )
        assert [p["data"] for p in data_parts(chunks) if p["type"] == "data-codeDelta"] == [code]

        other = await turn_error(
            ws, caps_llm, ToolCall("update_document", {"documentUuid": new_uuid(), "content": "x"})
        )
        assert "no document" in other


async def turn_error(tenant: Tenant, llm: FakeLLM, call: ToolCall) -> str:
    llm.script(Reply(tool_calls=[call]), Reply(text="It failed."))
    response, chunks = await stream_turn(tenant.client, stream_body(text="Fix it.", capabilities=DOCUMENT))
    assert response.status_code == 200, response.text
    [error] = [c["errorText"] for c in chunks if kind(c) == "tool-output-error"]
    assert not data_parts(chunks)
    return str(error)


class TestDocumentRoutes:
    async def test_versions_and_isolation(
        self, ws: Tenant, caps_server: Server, clients: list[httpx.AsyncClient]
    ) -> None:
        response = await ws.client.post(
            "/v1/ai/documents", json={"kind": "sheet", "title": "Q3", "content": "a,b\n1,2"}
        )
        assert response.status_code == 200, response.text
        document = response.json()["document"]
        assert document["kind"] == "sheet" and document["workspaceUuid"] == str(ws.workspace_uuid)
        response = await ws.client.post(
            "/v1/ai/documents", json={"uuid": document["uuid"], "kind": "sheet", "title": "Q3", "content": "a,b\n3,4"}
        )
        assert response.json()["document"]["uuid"] == document["uuid"]

        other = await new_tenant(caps_server, clients)
        for response in (
            await other.client.get(f"/v1/ai/documents/{document['uuid']}"),
            await other.client.get("/v1/ai/documents/list", params={"uuid": document["uuid"]}),
            await other.client.post(
                "/v1/ai/documents/reset", json={"uuid": document["uuid"], "createdAt": document["createdAt"]}
            ),
            await other.client.post(
                "/v1/ai/documents", json={"uuid": document["uuid"], "kind": "text", "content": "taken"}
            ),
        ):
            assert response.status_code == 404 and response.json()["reason"] == "documentNotFound", response.text
        versions = (await ws.client.get("/v1/ai/documents/list", params={"uuid": document["uuid"]})).json()
        assert [v["content"] for v in versions["documents"]] == ["a,b\n1,2", "a,b\n3,4"]

        response = await ws.client.post("/v1/ai/documents", json={"kind": "pdf", "content": "x"})
        assert response.status_code == 400
        response = await ws.client.post(
            "/v1/ai/documents/reset", json={"uuid": document["uuid"], "createdAt": "2020-01-01T00:00:00Z"}
        )
        assert response.status_code == 404


class TestVotes:
    async def test_upsert_list_and_isolation(
        self, ws: Tenant, caps_llm: FakeLLM, caps_server: Server, clients: list[httpx.AsyncClient]
    ) -> None:
        caps_llm.script(Reply(text="Hello."), Reply(text="Again."))
        chat = new_uuid()
        _, chunks = await stream_turn(ws.client, stream_body(chat))
        message = chunks[0]["messageId"]
        body = {"chatUuid": chat, "messageUuid": message, "isUpvoted": True}
        response = await ws.client.put("/v1/ai/votes", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["vote"]["isUpvoted"] is True
        response = await ws.client.put("/v1/ai/votes", json={**body, "isUpvoted": False})
        votes = (await ws.client.get("/v1/ai/votes/list", params={"chatUuid": chat})).json()["votes"]
        assert [(v["messageUuid"], v["isUpvoted"], v["userUuid"]) for v in votes] == [
            (message, False, str(ws.user_uuid))
        ]

        # Ten votes at once on another message: all answered, one row holding one of them.
        second = await stream_turn(ws.client, stream_body(chat, text="again"))
        other_message = second[1][0]["messageId"]
        many = [{**body, "messageUuid": other_message, "isUpvoted": i % 2 == 0} for i in range(10)]
        answers = await asyncio.gather(*(ws.client.put("/v1/ai/votes", json=b) for b in many))
        assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers if a.status_code != 200]
        votes = (await ws.client.get("/v1/ai/votes/list", params={"chatUuid": chat})).json()["votes"]
        assert sorted(v["messageUuid"] for v in votes) == sorted([message, other_message])

        other = await new_tenant(caps_server, clients)
        response = await other.client.put("/v1/ai/votes", json=body)
        assert response.status_code == 404 and response.json()["reason"] == "chatNotFound"
        response = await other.client.get("/v1/ai/votes/list", params={"chatUuid": chat})
        assert response.status_code == 404
        response = await ws.client.put("/v1/ai/votes", json={**body, "messageUuid": new_uuid()})
        assert response.status_code == 404 and response.json()["reason"] == "messageNotFound"
        response = await ws.client.put("/v1/ai/votes", json={**body, "isUpvoted": "maybe"})
        assert response.status_code == 400
