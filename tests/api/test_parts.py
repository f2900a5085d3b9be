"""Parts are checked once, at the edge: a part with no AI SDK shape is a 400 naming the part and
the field, and nothing is stored; extra keys on a known part are kept but never reach the model;
a chat holding a part stored before these checks still takes new turns."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from cargohold.db.tables import Chat, Message

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, new_uuid, stream_body, stream_turn, text_of


def _texts_sent(llm: FakeLLM) -> str:
    return json.dumps(llm.requests[-1]["messages"])


@pytest.mark.parametrize(
    ("parts", "named"),
    [
        ([{"type": "foo"}], "`parts[0]` (`foo`): unknown part type `foo`"),
        ([{"type": "reasoning"}], "`parts[0]` (`reasoning`): `text`: Field required"),
        ([{"type": "text", "text": "ok"}, {"type": "file", "url": "x"}], "`parts[1]` (`file`): `mediaType`"),
        ([{"type": "tool-x", "toolCallId": "c", "state": "flying"}], "`parts[0]` (`tool-x`): `state` must be"),
        ([{"type": "tool-x", "toolCallId": "c", "state": "approval-requested"}], "`state` must be"),
        ([{"type": "text", "text": 5}], "`parts[0]` (`text`): `text`: Input should be a valid string"),
        ([{"type": "data-x"}], "`data`"),
        (["hello"], "`parts.0`: Input should be a valid dictionary"),
    ],
)
async def test_a_part_with_no_known_shape_is_refused(
    server: Server, tenant: Tenant, parts: list[Any], named: str
) -> None:
    chat_uuid = new_uuid()
    response = await tenant.client.post("/v1/ai/messages/stream", json={**stream_body(chat_uuid), "parts": parts})
    assert response.status_code == 400, response.text
    assert named in response.json()["errorMessage"]
    assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}


async def test_extra_keys_are_kept_but_never_reach_the_model(server: Server, tenant: Tenant, llm: FakeLLM) -> None:
    chat_uuid = new_uuid()
    llm.script(Reply(text="first"), Reply(text="second"))
    part = {"type": "text", "text": "hi there", "extra": "SECRET-EXTRA-KEY", "state": "done"}
    _, chunks = await stream_turn(tenant.client, {**stream_body(chat_uuid), "parts": [part]})
    assert text_of(chunks) == "first"
    assert "SECRET-EXTRA-KEY" not in _texts_sent(llm) and "hi there" in _texts_sent(llm)
    # The next turn of the chat loads that part from history without trouble.
    _, chunks = await stream_turn(tenant.client, stream_body(chat_uuid, "again"))
    assert text_of(chunks) == "second"
    listed = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()["messages"]
    assert listed[0]["parts"] == [part]
    assert [m["status"] for m in listed] == ["success", "success", "success", "success"]


async def test_a_chat_broken_by_an_old_bad_part_works_again(server: Server, tenant: Tenant, llm: FakeLLM) -> None:
    """Parts stored before the edge check (an unknown type, a reasoning part without text) are left
    out of the model history with a log line; the chat takes new turns with no manual step."""
    chat_uuid = new_uuid()
    llm.script(Reply(text="before"), Reply(text="after"))
    await stream_turn(tenant.client, stream_body(chat_uuid, "remember the word pelican"))
    async with server.state.sessions() as session, session.begin():
        user_uuid = (
            await session.execute(
                sa.select(Message.uuid).where(Message.type == "user", Message.chat_uuid == uuid.UUID(chat_uuid))
            )
        ).scalar_one()
        bad = [
            {"type": "text", "text": "remember the word pelican"},
            {"type": "foo"},
            {"type": "reasoning"},
            {"type": "text", "text": "x", "extra": 1},
        ]
        await session.execute(sa.update(Message).where(Message.uuid == user_uuid).values(parts=bad))
    _, chunks = await stream_turn(tenant.client, stream_body(chat_uuid, "what was the word?"))
    assert text_of(chunks) == "after"
    assert not [c for c in chunks if isinstance(c, dict) and c["type"] == "error"]
    sent = _texts_sent(llm)
    assert "pelican" in sent and "what was the word?" in sent and '"foo"' not in sent


async def test_a_use_chat_body_is_checked_the_same(server: Server, tenant: Tenant) -> None:
    body = {
        "id": new_uuid(),
        "trigger": "submit-message",
        "messages": [{"id": "m1", "role": "user", "parts": [{"type": "reasoning"}]}],
    }
    response = await tenant.client.post("/v1/ai/messages/stream", json=body)
    assert response.status_code == 400
    assert "`parts[0]` (`reasoning`): `text`" in response.json()["errorMessage"]
    assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}


async def test_a_model_error_is_one_sentence(server: Server, tenant: Tenant, llm: FakeLLM) -> None:
    llm.script(Reply(status=500, error_message="upstream exploded\nTraceback: secret internals"))
    chat_uuid = new_uuid()
    _, chunks = await stream_turn(tenant.client, stream_body(chat_uuid))
    errors = [c["errorText"] for c in chunks if isinstance(c, dict) and c["type"] == "error"]
    assert len(errors) == 1 and "\n" not in errors[0] and "Traceback" not in errors[0]
    assert errors[0].startswith("The model provider answered HTTP 500")
    listed = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()["messages"]
    assert listed[-1]["status"] == "error" and listed[-1]["errorMessage"] == errors[0]


async def test_a_data_part_is_bounded_like_any_free_form_json(server: Server, tenant: Tenant) -> None:
    big = {"type": "data-note", "data": {"text": "x" * 300_000}}
    response = await tenant.client.post("/v1/ai/messages/stream", json={**stream_body(), "parts": [big]})
    assert response.status_code == 400
    assert response.json()["errorMessage"].startswith("`parts[0].data`: is 300")
    assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}


async def test_chat_credits_add_up_as_decimals(server: Server, tenant: Tenant, llm: FakeLLM) -> None:
    """0.1 + 0.2 credits make 0.3 on the chat, not 0.30000000000000004 (gpt-test: 1 credit per
    1,000 input tokens)."""
    chat_uuid = new_uuid()
    llm.script(Reply(text="a", input_tokens=100, output_tokens=0), Reply(text="b", input_tokens=200, output_tokens=0))
    await stream_turn(tenant.client, stream_body(chat_uuid))
    await stream_turn(tenant.client, stream_body(chat_uuid, "again"))
    chat = (await tenant.client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
    assert chat["creditsUsedCount"] == 0.3
    async with server.state.sessions() as session:  # stored so too, not only rounded when read
        stored = await session.scalar(sa.select(Chat.credits_used_count).where(Chat.uuid == uuid.UUID(chat_uuid)))
    assert stored == 0.3
