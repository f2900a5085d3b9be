"""Nothing stuck: a turn whose process was killed (-9) is ended as `error` ("interrupted") by the
lease reaper of the next instance, and the chat takes new turns."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa

from cargohold.db.tables import Message
from cargohold.db.types import utcnow
from cargohold.jobs.reaper import reap_once

from ..api.test_metrics import sample
from ..conftest import MakeTenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import (
    StreamReader,
    new_uuid,
    parse_sse,
    read_stream,
    start_server,
    stream_body,
    stream_turn,
    wait_for_status,
)
from ..serve_process import serve_env, serve_process


class TestReaper:
    async def test_killed_process_leaves_nothing_generating(self, make_settings: Any, llm: FakeLLM) -> None:
        settings = make_settings()
        chat_uuid = new_uuid()
        env = serve_env(settings, CARGOHOLD_LEASE_SECONDS="1.5", CARGOHOLD_OFFLINE_TOKEN_DELAY="0.2")
        async with serve_process(env) as served:
            assert served.token, "first start prints the token"
            headers = {"Authorization": f"Bearer {served.token}"}
            async with httpx.AsyncClient(base_url=served.base_url, headers=headers, timeout=30) as client:
                body = stream_body(chat_uuid, "tell me a long story", integrationSlug="offline")
                async with client.stream("POST", "/v1/ai/messages/stream", json=body) as response:
                    seen = ""
                    async for text in response.aiter_text():
                        seen += text
                        if any(isinstance(c, dict) and c["type"] == "text-delta" for c in parse_sse(seen)):
                            break
                    message_uuid = parse_sse(seen)[0]["messageId"]
                    await served.kill()

        later = make_settings(lease_seconds=1.5, reaper_interval_seconds=0.1, bootstrap=True)
        async with start_server(later) as srv:
            async with httpx.AsyncClient(base_url=srv.base_url, headers=headers, timeout=30) as client:
                if settings.redis_url:  # the stream outlived its producer: a reader gets a proper ending
                    async with client.stream("GET", f"/v1/ai/chats/{chat_uuid}/stream") as response:
                        assert response.status_code == 200
                        replay = await read_stream(response)
                    assert replay[0]["messageId"] == message_uuid and replay[-1] == "[DONE]"
                    assert {"type": "error", "errorText": replay[-3]["errorText"]} in replay
                message = await wait_for_status(client, message_uuid, {"error"}, timeout=20)
                assert message["errorMessage"].startswith("interrupted")
                assert message["finishedAt"] is not None
                chat = (await client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
                assert chat["activeStreamUuid"] is None
                llm.script(Reply(text="I am back."))
                _, chunks = await stream_turn(client, stream_body(chat_uuid, "still there?"))
                assert chunks[-1] == "[DONE]"
                listed = (await client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()
                assert [m["status"] for m in listed["messages"]] == ["success", "error", "success", "success"]


class TestShutdown:
    async def test_stopping_the_server_ends_running_turns(
        self, make_settings: Any, make_tenant: Any, llm: FakeLLM
    ) -> None:
        settings = make_settings()
        async with start_server(settings) as srv:
            tenant = await make_tenant(srv)
            llm.script(Reply(text="this will not finish", hang=True))
            chat_uuid = new_uuid()
            async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as r:
                head = await StreamReader(r).until(3)
            headers = dict(tenant.client.headers)
        # The server stopped with the turn still running: it was closed, not left generating.
        async with start_server(settings) as srv:
            async with httpx.AsyncClient(base_url=srv.base_url, headers=headers) as client:
                message = (await client.get(f"/v1/ai/messages/{head[0]['messageId']}")).json()["message"]
        assert message["status"] == "error" and message["errorMessage"].startswith("interrupted")
        assert message["parts"] and message["usage"]["isEstimated"] is True
        assert llm.disconnected.is_set()


class TestLateLease:
    async def test_a_live_turn_of_this_process_is_not_reaped(
        self, make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM
    ) -> None:
        """Under overload a run may renew its lease late; the reaper of the process running it knows
        it is alive and leaves it be (only a dead process's turns are interrupted)."""
        async with start_server(make_settings(reaper_interval_seconds=3600)) as srv:
            client = (await make_tenant(srv)).client
            llm.script(Reply(text="slow answer", hang=True))
            async with client.stream("POST", "/v1/ai/messages/stream", json=stream_body()) as response:
                reader = StreamReader(response)
                message_uuid = (await reader.until(1))[0]["messageId"]
                await wait_for_status(client, message_uuid, {"generating"})
                async with srv.state.sessions() as session, session.begin():
                    late = utcnow() - timedelta(seconds=60)
                    await session.execute(sa.update(Message).values(lease_expires_at=late))
                assert await reap_once(srv.state) == []
                got = (await client.get(f"/v1/ai/messages/{message_uuid}")).json()["message"]
                assert got["status"] == "generating"
                await client.post("/v1/ai/messages/cancel", json={"uuids": [message_uuid]})
                await reader.rest()
            assert (await wait_for_status(client, message_uuid, {"cancelled"}))["status"] == "cancelled"


class TestOneFinish:
    async def test_reaper_and_run_store_the_same_shape(
        self, make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM
    ) -> None:
        """A turn that fails mid-stream in its run, and one whose process died at the same point
        (as its last heartbeat left it) and is reaped, are stored alike: both go through
        `finish_message`."""
        from cargohold.store import chats as chat_store
        from cargohold.store import messages as message_store

        async with start_server(make_settings(reaper_interval_seconds=3600)) as srv:
            tenant = await make_tenant(srv)
            client = tenant.client
            llm.script(Reply(text="one two three four five six seven eight", cut_after_chunks=3))
            ran_chat = new_uuid()
            await stream_turn(client, stream_body(ran_chat))
            ran = (await client.get("/v1/ai/messages/list", params={"chatUuid": ran_chat})).json()["messages"][-1]
            assert ran["status"] == "error"

            # What a dead process leaves: its heartbeat saved the parts (a text part still streaming)
            # and the usage so far; its lease has expired.
            reaped_chat = uuid.UUID(new_uuid())
            async with srv.state.sessions() as session, session.begin():
                chat = chat_store.new_chat(
                    workspace_uuid=tenant.workspace_uuid,
                    chat_uuid=reaped_chat,
                    trigger={"type": "app"},
                    user_uuid=tenant.user_uuid,
                )
                user = message_store.new_message(
                    chat, type="user", status="success", parts=[{"type": "text", "text": "Hello"}]
                )
                parts = [{**p, "state": "streaming"} if p["type"] == "text" else p for p in ran["parts"]]
                dead = message_store.new_message(
                    chat,
                    type="assistant",
                    status="generating",
                    parts=parts,
                    usage=ran["usage"],
                    evaluated_tools={},
                    lease_expires_at=utcnow() - timedelta(seconds=5),
                    integration_slug=ran["integrationSlug"],
                    language_model_slug=ran["languageModelSlug"],
                )
                chat.active_stream_uuid = dead.uuid
                await message_store.insert_turn(session, chat, [user, dead], chat_is_new=True)
            before = (await client.get("/metrics")).text
            assert await reap_once(srv.state) == [dead.uuid]
            reaped = (await client.get(f"/v1/ai/messages/{dead.uuid}")).json()["message"]
            after = (await client.get("/metrics")).text
            assert sample(after, "cargohold_turns_reaped_total") == sample(before, "cargohold_turns_reaped_total") + 1

            def shape(message: dict[str, Any]) -> dict[str, Any]:
                return {
                    "keys": sorted(message),
                    "status": message["status"],
                    "parts": [(p["type"], p.get("state")) for p in message["parts"]],
                    "usage": sorted(message["usage"]),
                    "meta": sorted(message["meta"]),
                    "finishReason": message["meta"]["finishReason"],
                    "finished": message["finishedAt"] is not None,
                }

            assert shape(reaped) == shape(ran)
            assert reaped["parts"] == ran["parts"]
            for chat_uuid, message in ((ran_chat, ran), (str(reaped_chat), reaped)):
                chat_body = (await client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
                assert chat_body["activeStreamUuid"] is None
                assert chat_body["creditsUsedCount"] == message["usage"]["creditsUsedCount"]
