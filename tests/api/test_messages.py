"""/v1/ai/messages: create-and-poll, read, list, delete."""

from __future__ import annotations

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, new_uuid, stream_body, stream_turn, wait_for_status


class TestCreateMessage:
    async def test_returns_both_messages_then_the_turn_finishes(
        self, server: Server, tenant: Tenant, llm: FakeLLM
    ) -> None:
        llm.script(Reply(text="Polled answer.", input_tokens=40, output_tokens=8))
        chat = (await tenant.client.post("/v1/ai/chats", json={"trigger": {"type": "app"}})).json()["chat"]
        response = await tenant.client.post(
            "/v1/ai/messages", json={"chatUuid": chat["uuid"], "parts": [{"type": "text", "text": "hi"}]}
        )
        assert response.status_code == 200, response.text
        pair = response.json()
        user, assistant = pair["userMessage"], pair["assistantMessage"]
        assert user["type"] == "user" and user["status"] == "success"
        assert user["parts"] == [{"type": "text", "text": "hi"}]
        assert assistant["type"] == "assistant" and assistant["status"] in ("pending", "generating")
        assert assistant["parts"] == [] and assistant["chatUuid"] == chat["uuid"]
        done = await wait_for_status(tenant.client, assistant["uuid"], {"success", "error"})
        assert done["status"] == "success"
        assert done["parts"][-1] == {"type": "text", "text": "Polled answer.", "state": "done"}
        assert done["usage"]["inputTokensCount"] == 40
        assert done["tools"] == done["actions"] == []

    async def test_new_chat_when_no_chat_uuid(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="ok"))
        response = await tenant.client.post("/v1/ai/messages", json={"parts": [{"type": "text", "text": "hi"}]})
        assert response.status_code == 200
        chat_uuid = response.json()["userMessage"]["chatUuid"]
        await wait_for_status(tenant.client, response.json()["assistantMessage"]["uuid"], {"success"})
        chats = (await tenant.client.get("/v1/ai/chats/list")).json()["chats"]
        assert [c["uuid"] for c in chats] == [chat_uuid]

    async def test_unknown_chat_is_404_and_writes_nothing(self, server: Server, tenant: Tenant) -> None:
        response = await tenant.client.post(
            "/v1/ai/messages", json={"chatUuid": new_uuid(), "parts": [{"type": "text", "text": "hi"}]}
        )
        assert response.status_code == 404 and response.json()["reason"] == "chatNotFound"
        assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}


class TestReadAndDelete:
    async def test_list_get_delete(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="one"), Reply(text="two"))
        chat = new_uuid()
        await stream_turn(tenant.client, stream_body(chat, "first"))
        await stream_turn(tenant.client, stream_body(chat, "second"))
        listed = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat})).json()["messages"]
        assert [m["type"] for m in listed] == ["user", "assistant", "user", "assistant"]
        assert [m["parts"][-1]["text"] for m in listed] == ["first", "one", "second", "two"]
        page = (
            await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat, "limit": 2, "offset": 1})
        ).json()["messages"]
        assert [m["uuid"] for m in page] == [listed[1]["uuid"], listed[2]["uuid"]]

        got = await tenant.client.get(f"/v1/ai/messages/{listed[1]['uuid']}")
        assert got.json()["message"] == listed[1]

        refused = await tenant.client.delete(f"/v1/ai/messages/{listed[1]['uuid']}")
        assert refused.status_code == 400 and refused.json()["reason"] == "messageNotUser"
        deleted = await tenant.client.delete(f"/v1/ai/messages/{listed[2]['uuid']}")
        assert deleted.status_code == 200
        after = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat})).json()["messages"]
        assert [m["uuid"] for m in after] == [listed[0]["uuid"], listed[1]["uuid"], listed[3]["uuid"]]
        missing = await tenant.client.get(f"/v1/ai/messages/{listed[2]['uuid']}")
        assert missing.status_code == 404 and missing.json()["reason"] == "messageNotFound"
        assert (await tenant.client.delete(f"/v1/ai/messages/{new_uuid()}")).status_code == 404
