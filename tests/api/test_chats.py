"""/v1/ai/chats: create, read, rename, delete, and every filter of chats/list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cargohold.store import chats as chat_store
from cargohold.store import messages as message_store

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, StreamReader, new_uuid, stream_body, stream_turn, wait_until


class TestCrud:
    async def test_create_get_rename_delete(self, server: Server, tenant: Tenant) -> None:
        created = await tenant.client.post("/v1/ai/chats", json={"trigger": {"type": "draft"}, "name": "Plans"})
        assert created.status_code == 200
        chat = created.json()["chat"]
        assert chat["name"] == "Plans" and chat["trigger"] == {"type": "draft"}
        assert chat["workspaceUuid"] == str(tenant.workspace_uuid)
        assert chat["userUuid"] == str(tenant.user_uuid)
        assert chat["creditsUsedCount"] == 0 and chat["lastMessage"] is None and chat["activeStreamUuid"] is None
        assert chat["createdAt"].endswith("Z") and chat["deletedAt"] is None
        uuid.UUID(chat["uuid"], version=4)

        got = (await tenant.client.get(f"/v1/ai/chats/{chat['uuid']}")).json()["chat"]
        assert got == chat

        renamed = await tenant.client.put(f"/v1/ai/chats/{chat['uuid']}", json={"name": "Roadmap"})
        assert renamed.json()["chat"]["name"] == "Roadmap"
        cleared = await tenant.client.put(f"/v1/ai/chats/{chat['uuid']}", json={"name": None})
        assert cleared.json()["chat"]["name"] is None

        deleted = await tenant.client.delete(f"/v1/ai/chats/{chat['uuid']}")
        assert deleted.status_code == 200 and deleted.json() == {"outcome": "removed"}
        missing = await tenant.client.get(f"/v1/ai/chats/{chat['uuid']}")
        assert missing.status_code == 404 and missing.json() == {
            "errorMessage": "Chat not found",
            "reason": "chatNotFound",
        }
        assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}
        again = await tenant.client.delete(f"/v1/ai/chats/{chat['uuid']}")
        assert again.status_code == 404

    async def test_every_trigger_kind(self, server: Server, tenant: Tenant) -> None:
        triggers = [
            {"type": "app"},
            {"type": "draft"},
            {"type": "web_extension", "url": "https://example.com/page"},
            {"type": "connector", "connectorUuid": new_uuid(), "meta": {"channel": "C1"}},
            {"type": "workflow", "uuid": new_uuid(), "nodeUuid": new_uuid(), "runUuid": None},
            {"type": "chat", "uuid": new_uuid(), "agentUuid": None, "messageUuid": None},
            {"type": "schedule"},
        ]
        for trigger in triggers:
            response = await tenant.client.post("/v1/ai/chats", json={"trigger": trigger})
            assert response.status_code == 200, response.text
            stored = response.json()["chat"]["trigger"]
            assert {k: v for k, v in stored.items() if v is not None} == {
                k: v for k, v in trigger.items() if v is not None
            }

    async def test_deleted_chat_hides_its_messages(self, server: Server, tenant: Tenant, llm: Any) -> None:
        from ..fakes.fake_llm import Reply
        from ..harness import stream_body, stream_turn

        llm.script(Reply(text="hello"))
        chat_uuid = new_uuid()
        _, chunks = await stream_turn(tenant.client, stream_body(chat_uuid))
        await tenant.client.delete(f"/v1/ai/chats/{chat_uuid}")
        assert (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).status_code == 404
        listed = await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})
        assert listed.status_code == 404 and listed.json()["reason"] == "chatNotFound"
        # A deleted chat's uuid cannot be taken over by a new stream either.
        reused = await tenant.client.post("/v1/ai/messages/stream", json=stream_body(chat_uuid))
        assert reused.status_code == 404


async def seed(server: Server, tenant: Tenant) -> dict[str, Any]:
    """Chats made through the real store, with every attribute the filters look at."""
    agent, release, other_user = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    plan = [
        # name, trigger, agent, release, user, last status, day
        ("Quarterly plan", "app", agent, release, tenant.user_uuid, "success", 0),
        ("Weekly sync", "draft", agent, None, tenant.user_uuid, "error", 1),
        ("Plan B", "connector", None, None, other_user, "generating", 2),
        ("100% done_", "workflow", None, release, other_user, None, 3),
        ("Misc", "web_extension", None, None, tenant.user_uuid, "cancelled", 4),
    ]
    made: dict[str, uuid.UUID] = {}
    question = [{"type": "text", "text": "q"}]
    async with server.state.sessions() as session, session.begin():
        for name, kind, agent_uuid, release_uuid, user_uuid, status, day in plan:
            trigger: dict[str, Any] = {"type": kind}
            if kind == "connector":
                trigger |= {"connectorUuid": new_uuid(), "meta": {}}
            if kind == "workflow":
                trigger |= {"uuid": new_uuid(), "nodeUuid": new_uuid()}
            chat = chat_store.new_chat(
                workspace_uuid=tenant.workspace_uuid,
                chat_uuid=uuid.uuid4(),
                trigger=trigger,
                user_uuid=user_uuid,
                name=name,
                agent_uuid=agent_uuid,
                release_uuid=release_uuid,
            )
            chat.created_at = base + timedelta(days=day)
            messages = []
            if status:
                messages = [
                    message_store.new_message(chat, type="user", status="success", parts=question),
                    message_store.new_message(chat, type="assistant", status=status, parts=[]),
                ]
            await message_store.insert_turn(session, chat, messages, chat_is_new=True)
            made[name] = chat.uuid
    return {"chats": made, "agent": agent, "release": release, "other_user": other_user, "base": base}


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [c["name"] for c in response.json()["chats"]]


class TestListFilters:
    async def test_each_filter(self, server: Server, tenant: Tenant) -> None:
        s = await seed(server, tenant)
        get = tenant.client.get
        everything = ["Misc", "100% done_", "Plan B", "Weekly sync", "Quarterly plan"]
        assert names(await get("/v1/ai/chats/list")) == everything  # newest first
        assert names(await get("/v1/ai/chats/list", params={"agentUuid": str(s["agent"])})) == [
            "Weekly sync",
            "Quarterly plan",
        ]
        assert names(await get("/v1/ai/chats/list", params={"releaseUuid": str(s["release"])})) == [
            "100% done_",
            "Quarterly plan",
        ]
        assert names(await get("/v1/ai/chats/list", params={"userUuid": str(s["other_user"])})) == [
            "100% done_",
            "Plan B",
        ]
        assert names(await get("/v1/ai/chats/list", params={"triggerType": "draft"})) == ["Weekly sync"]
        assert names(await get("/v1/ai/chats/list", params={"trigger": "connector"})) == ["Plan B"]
        assert names(await get("/v1/ai/chats/list", params={"messageStatuses[]": ["error", "generating"]})) == [
            "Plan B",
            "Weekly sync",
        ]
        assert names(await get("/v1/ai/chats/list", params={"messageStatuses": "success"})) == ["Quarterly plan"]
        assert names(await get("/v1/ai/chats/list", params={"name": "PLAN"})) == ["Plan B", "Quarterly plan"]
        assert names(await get("/v1/ai/chats/list", params={"name": "100%"})) == ["100% done_"]
        assert names(await get("/v1/ai/chats/list", params={"name": "e_"})) == ["100% done_"]
        day = s["base"] + timedelta(days=1)
        assert names(await get("/v1/ai/chats/list", params={"createdAfter": day.isoformat()})) == [
            "Misc",
            "100% done_",
            "Plan B",
        ]
        assert names(await get("/v1/ai/chats/list", params={"createdBefore": day.isoformat()})) == ["Quarterly plan"]
        assert names(
            await get(
                "/v1/ai/chats/list",
                params={"agentUuid": str(s["agent"]), "triggerType": "app", "messageStatuses[]": "success"},
            )
        ) == ["Quarterly plan"]

    async def test_last_message_header(self, server: Server, tenant: Tenant) -> None:
        await seed(server, tenant)
        chats = (await tenant.client.get("/v1/ai/chats/list", params={"name": "Weekly"})).json()["chats"]
        last = chats[0]["lastMessage"]
        assert last["status"] == "error" and last["type"] == "assistant"
        assert "parts" not in last and set(last) >= {"uuid", "chatUuid", "createdAt", "finishedAt"}

    async def test_pagination(self, server: Server, tenant: Tenant) -> None:
        await seed(server, tenant)
        get = tenant.client.get
        assert names(await get("/v1/ai/chats/list", params={"limit": 2})) == ["Misc", "100% done_"]
        assert names(await get("/v1/ai/chats/list", params={"limit": 2, "offset": 2})) == ["Plan B", "Weekly sync"]
        assert names(await get("/v1/ai/chats/list", params={"limit": 2, "offset": 4})) == ["Quarterly plan"]
        assert names(await get("/v1/ai/chats/list", params={"offset": 50})) == []
        for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "ten"}):
            response = await get("/v1/ai/chats/list", params=bad)
            assert response.status_code == 400
            assert next(iter(bad)) in response.json()["errorMessage"]

    async def test_bad_filters_name_the_parameter(self, server: Server, tenant: Tenant) -> None:
        get = tenant.client.get
        cases = {
            "agentUuid": "not-a-uuid",
            "releaseUuid": "6ba7b810-9dad-11d1-80b4-00c04fd430c8",  # a v1 uuid
            "triggerType": "carrier-pigeon",
            "messageStatuses[]": "finished",
            "createdAfter": "yesterday",
        }
        for param, value in cases.items():
            response = await get("/v1/ai/chats/list", params={param: value})
            assert response.status_code == 400, param
            assert param in response.json()["errorMessage"], response.json()


class TestStatusFilterFollowsTurns:
    async def test_last_message_status_tracks_each_turn(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        async def listed(status: str) -> list[str]:
            response = await tenant.client.get("/v1/ai/chats/list", params={"messageStatuses[]": status})
            return [c["uuid"] for c in response.json()["chats"]]

        chat = new_uuid()
        llm.script(Reply(text="Fine."), Reply(status=500))
        await stream_turn(tenant.client, stream_body(chat))
        assert await listed("success") == [chat] and await listed("generating") == []
        await stream_turn(tenant.client, stream_body(chat, "again"))
        assert await listed("error") == [chat] and await listed("success") == []
        llm.script(Reply(text="slow", hang=True))
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat, "3")) as response:
            reader = StreamReader(response)
            chunks = await reader.until(2)
            await wait_until(lambda: llm.requests and len(llm.requests) == 3)
            assert await listed("generating") == [chat] and await listed("error") == []
            await tenant.client.post("/v1/ai/messages/cancel", json={"uuids": [chunks[0]["messageId"]]})
            await reader.rest()
        assert await listed("cancelled") == [chat]
        listed_chat = (await tenant.client.get("/v1/ai/chats/list")).json()["chats"][0]
        assert listed_chat["lastMessage"]["status"] == "cancelled"
