"""Files in turns, driven by the fake model server: a `file` resource is a search tool over its
files and folders (the right passage, as Cargo's outcome and as `source-document` chunks); a
replaced or deleted file's text is never returned again; attachments are temporary files of their
chat, searched by the `fileSearch` capability and by no other chat; another workspace's files
cannot be named."""

from __future__ import annotations

import base64
from typing import Any

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import kind, new_uuid, stream_body, stream_turn
from .helpers import FILES, uploaded, wait_indexed

HANDBOOK = b"# Handbook\n\n## Remote work\n\nStaff may work remotely on Mondays and Fridays.\n"
PRICES = b"# Prices\n\nThe price list is reviewed every quarter.\n"


def of_kind(chunks: list[Any], name: str) -> list[dict[str, Any]]:
    return [c for c in chunks if kind(c) == name]


def results_of(chunks: list[Any], call_id: str) -> list[dict[str, Any]]:
    (out,) = [c for c in of_kind(chunks, "tool-output-available") if c["toolCallId"] == call_id]
    assert out["output"]["outcome"] == "executed", out
    return out["output"]["data"]["results"]  # type: ignore[no-any-return]


async def message_of(tenant: Tenant, chunks: list[Any]) -> dict[str, Any]:
    return (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]


class TestFileResource:
    async def test_the_tool_finds_the_passage_and_cites_it(self, ours: Tenant, llm: FakeLLM) -> None:
        folder = (await ours.client.post("/v1/content/folders", json={"name": "HR"})).json()["folder"]
        handbook = await uploaded(ours.client, "handbook.md", HANDBOOK, folderUuid=folder["uuid"])
        prices = await uploaded(ours.client, "prices.md", PRICES)
        outside = await uploaded(ours.client, "outside.md", b"Remote work is never allowed on Fridays.\n")
        for file in (handbook, prices, outside):
            assert (await wait_indexed(ours.client, file["uuid"]))["indexStatus"] == "ready"
        resource = {
            "kind": "file",
            "slug": "policies",
            "name": "Policies",
            "description": "The team's policies.",
            "prompt": "Use it for HR questions.",
            "items": [{"kind": "folder", "folderUuid": folder["uuid"]}, {"kind": "file", "fileUuid": prices["uuid"]}],
        }
        llm.script(
            Reply(tool_calls=[ToolCall("policies", {"query": "Which days can staff work remotely?"}, id="s1")]),
            Reply(text="Mondays and Fridays."),
        )
        response, chunks = await stream_turn(ours.client, stream_body(text="Remote days?", resources=[resource]))
        assert response.status_code == 200, response.text

        offered = {t["function"]["name"]: t["function"] for t in llm.requests[0]["tools"]}
        assert "The team's policies." in offered["policies"]["description"]
        assert offered["policies"]["parameters"]["required"] == ["query"]
        results = results_of(chunks, "s1")
        assert results and results[0]["fileUuid"] == handbook["uuid"] and results[0]["fileName"] == "handbook.md"
        assert "Mondays and Fridays" in results[0]["text"]
        assert set(results[0]) == {"fileUuid", "fileName", "location", "text", "score"}
        assert outside["uuid"] not in {r["fileUuid"] for r in results}  # not in the resource
        sources = of_kind(chunks, "source-document")
        assert len(sources) == len(results)
        assert sources[0]["mediaType"] == "text/markdown" and sources[0]["filename"] == "handbook.md"
        assert sources[0]["title"].startswith("handbook.md") and sources[0]["sourceId"].startswith(handbook["uuid"])
        tool_result = llm.requests[1]["messages"][-1]
        assert tool_result["role"] == "tool" and "Mondays and Fridays" in tool_result["content"]

        message = await message_of(ours, chunks)
        assert message["status"] == "success"
        assert message["evaluatedTools"]["policies"]["kind"] == "file"
        assert [p for p in message["parts"] if p["type"] == "source-document"] == sources

    async def test_another_workspaces_files_cannot_be_named(self, ours: Tenant, theirs: Tenant) -> None:
        file = await uploaded(theirs.client, "theirs.md", HANDBOOK)
        folder = (await theirs.client.post("/v1/content/folders", json={"name": "X"})).json()["folder"]
        for item in ({"kind": "file", "fileUuid": file["uuid"]}, {"kind": "folder", "folderUuid": folder["uuid"]}):
            resource = {"kind": "file", "slug": "docs", "items": [item]}
            response, _ = await stream_turn(ours.client, stream_body(resources=[resource]))
            assert response.status_code == 400 and "not found in this workspace" in response.json()["errorMessage"]


class TestFileSearch:
    async def test_replaced_and_deleted_text_is_never_found(self, ours: Tenant, llm: FakeLLM) -> None:
        kept = await uploaded(ours.client, "stock.md", b"SKU-4471 ships from the Lyon warehouse.\n")
        gone = await uploaded(ours.client, "old.md", b"SKU-4471 was discontinued in the Paris catalogue.\n")
        await wait_indexed(ours.client, kept["uuid"])
        await wait_indexed(ours.client, gone["uuid"])
        await uploaded(ours.client, "stock.md", b"SKU-4471 ships from the Oslo warehouse.\n", uuid=kept["uuid"])
        assert (await ours.client.delete(f"{FILES}/{gone['uuid']}")).status_code == 200
        await wait_indexed(ours.client, kept["uuid"])

        llm.script(Reply(tool_calls=[ToolCall("file_search", {"query": "SKU-4471"}, id="f1")]), Reply(text="Oslo."))
        body = stream_body(text="Where does SKU-4471 ship from?", capabilities=[{"slug": "fileSearch"}])
        response, chunks = await stream_turn(ours.client, body)
        assert response.status_code == 200, response.text
        texts = [r["text"] for r in results_of(chunks, "f1")]
        assert any("Oslo" in t for t in texts), texts
        assert not any("Lyon" in t or "Paris" in t for t in texts), texts

    async def test_attachments_are_searched_in_their_chat_only(self, ours: Tenant, llm: FakeLLM) -> None:
        data = base64.b64encode(b"The guest wifi password is ORCA-77.\n").decode()
        attachment = {
            "type": "file",
            "mediaType": "text/plain",
            "filename": "wifi.txt",
            "url": f"data:text/plain;base64,{data}",
        }
        chat = new_uuid()
        llm.script(Reply(text="Noted."))
        body = {**stream_body(chat, "Here is the wifi note"), "capabilities": [{"slug": "fileSearch"}]}
        body["parts"].append(attachment)
        response, chunks = await stream_turn(ours.client, body)
        assert response.status_code == 200, response.text
        messages = (await ours.client.get("/v1/ai/messages/list", params={"chatUuid": chat})).json()["messages"]
        (user,) = [m for m in messages if m["type"] == "user"]
        (part,) = [p for p in user["parts"] if p["type"] == "file"]
        assert part["url"].startswith("/v1/content/files/") and "base64" not in part["url"]
        file_uuid = part["url"].split("/")[4]
        file = await wait_indexed(ours.client, file_uuid)
        assert file["indexStatus"] == "ready" and file["isTemporary"] is True and file["chatUuid"] == chat
        assert (await ours.client.get(f"{FILES}/{file_uuid}/raw")).content == b"The guest wifi password is ORCA-77.\n"
        assert file_uuid not in {f["uuid"] for f in (await ours.client.get(f"{FILES}/list")).json()["files"]}
        note = str(llm.requests[0]["messages"])
        assert "wifi.txt" in note and "file_search" in note and data not in note

        llm.script(
            Reply(tool_calls=[ToolCall("file_search", {"query": "wifi password"}, id="w1")]), Reply(text="ORCA-77.")
        )
        _, chunks = await stream_turn(
            ours.client, {**stream_body(chat, "What is the wifi password?"), "capabilities": [{"slug": "fileSearch"}]}
        )
        (hit, *_) = results_of(chunks, "w1")
        assert hit["fileUuid"] == file_uuid and "ORCA-77" in hit["text"]

        llm.script(
            Reply(tool_calls=[ToolCall("file_search", {"query": "wifi password"}, id="w2")]), Reply(text="No idea.")
        )
        _, chunks = await stream_turn(
            ours.client, {**stream_body(None, "What is the wifi password?"), "capabilities": [{"slug": "fileSearch"}]}
        )
        assert results_of(chunks, "w2") == []  # another chat never sees this chat's attachments


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def image_parts(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The `image_url` content parts of the user messages the fake model server received."""
    return [
        part
        for message in request["messages"]
        if message["role"] == "user" and isinstance(message["content"], list)
        for part in message["content"]
        if part.get("type") == "image_url"
    ]


class TestImages:
    async def test_an_attached_image_reaches_the_model_as_an_image(self, ours: Tenant, llm: FakeLLM) -> None:
        encoded = base64.b64encode(PNG).decode()
        chat = new_uuid()
        llm.script(Reply(text="A red dot."))
        body = stream_body(chat, "What is in this picture?")
        body["parts"].append(
            {"type": "file", "mediaType": "image/png", "filename": "dot.png", "url": f"data:image/png;base64,{encoded}"}
        )
        response, _ = await stream_turn(ours.client, body)
        assert response.status_code == 200, response.text
        (image,) = image_parts(llm.requests[0])
        assert image["image_url"]["url"] == f"data:image/png;base64,{encoded}"

    async def test_an_uploaded_image_named_by_url_reaches_the_model_as_an_image(
        self, ours: Tenant, llm: FakeLLM
    ) -> None:
        file = await uploaded(ours.client, "dot.png", PNG)
        chat = new_uuid()
        llm.script(Reply(text="A red dot."))
        body = stream_body(chat, "What is in this picture?")
        url = f"/v1/content/files/{file['uuid']}/raw"
        body["parts"].append({"type": "file", "mediaType": "image/png", "filename": "dot.png", "url": url})
        response, _ = await stream_turn(ours.client, body)
        assert response.status_code == 200, response.text
        (image,) = image_parts(llm.requests[0])
        assert image["image_url"]["url"] == f"data:image/png;base64,{base64.b64encode(PNG).decode()}"
        assert "file_search" not in str(llm.requests[0]["messages"])

    def test_a_model_without_image_input_gets_a_note_instead(self) -> None:
        from pydantic_ai.messages import BinaryContent, ModelRequest, UserPromptPart

        from cargohold.runtime.history import to_model_messages

        encoded = base64.b64encode(PNG).decode()
        parts = [
            {"type": "text", "text": "What is in this picture?"},
            {
                "type": "file",
                "mediaType": "image/png",
                "filename": "dot.png",
                "url": f"data:image/png;base64,{encoded}",
            },
        ]

        def contents(images: bool) -> list[Any]:
            (request,) = to_model_messages([(new_uuid(), "user", parts)], images=images)
            assert isinstance(request, ModelRequest)
            return [c for p in request.parts if isinstance(p, UserPromptPart) for c in p.content]

        assert any(isinstance(c, BinaryContent) and c.data == PNG for c in contents(True))
        text_only = contents(False)
        assert not any(isinstance(c, BinaryContent) for c in text_only)
        assert any("dot.png" in c and "cannot see images" in c for c in text_only if isinstance(c, str))
