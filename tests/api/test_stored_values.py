"""Nothing stored can break a read. Rows written before the input checks (or by a path that
skipped them) may hold JSON nested 900 levels deep or, on SQLite, lone surrogates. Each such row
used to make every read that serializes it answer 500, for the whole workspace. The rows are
written here straight through SQLAlchemy, as the old code did; every read must answer 200."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from cargohold.db import tables
from cargohold.schemas.safe import TOO_DEEP

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, new_uuid, stream_body, stream_turn


def deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"a": value}
    return value


def depth_of(value: Any) -> int:
    levels = 0
    while isinstance(value, dict) and "a" in value:
        value, levels = value["a"], levels + 1
    return levels


async def write(server: Server, table: Any, row_uuid: str, **values: Any) -> None:
    async with server.state.sessions() as session, session.begin():
        await session.execute(sa.update(table).where(table.uuid == uuid.UUID(row_uuid)).values(**values))


async def seed(server: Server, tenant: Tenant, llm: FakeLLM, bad: Any) -> dict[str, str]:
    """One of everything through the API, then `bad` written into each free-form column."""
    client = tenant.client
    agent = (await client.post("/v1/ai/agents", json={"name": "a"})).json()["agent"]
    draft = (await client.get("/v1/ai/releases/getDraft", params={"agentUuid": agent["uuid"]})).json()["release"]
    tool = (await client.post("/v1/tools", json={"name": "t", "url": "http://127.0.0.1:9/t"})).json()["tool"]
    llm.script(Reply(text="hi"))
    chat_uuid = new_uuid()
    response, chunks = await stream_turn(client, stream_body(chat_uuid))
    assert response.status_code == 200 and chunks[-1] == "[DONE]"
    messages = (await client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()["messages"]

    await write(server, tables.Agent, agent["uuid"], template={"t": bad}, triggers=[{"type": "cron", "x": bad}])
    await write(server, tables.Release, draft["uuid"], output={"o": bad}, resources=[{"r": bad}], actions=[{"k": bad}])
    await write(server, tables.Tool, tool["uuid"], input_schema={"type": "object", "properties": {"p": bad}})
    await write(server, tables.Chat, chat_uuid, trigger={"type": "app", "meta": bad})
    for message in messages:
        parts = [{"type": "data-x", "data": bad}, {"type": "text", "text": "ok"}]
        await write(server, tables.Message, message["uuid"], parts=parts, meta={"m": bad}, output=bad)
    return {"agent": agent["uuid"], "release": draft["uuid"], "tool": tool["uuid"], "chat": chat_uuid}


def reads(ids: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    return [
        ("/v1/ai/agents/list", {}),
        (f"/v1/ai/agents/{ids['agent']}", {}),
        ("/v1/ai/releases/getDraft", {"agentUuid": ids["agent"]}),
        ("/v1/ai/releases/list", {"agentUuid": ids["agent"]}),
        (f"/v1/ai/releases/{ids['release']}", {}),
        ("/v1/tools/list", {}),
        (f"/v1/tools/{ids['tool']}", {}),
        ("/v1/ai/chats/list", {}),
        (f"/v1/ai/chats/{ids['chat']}", {}),
        ("/v1/ai/messages/list", {"chatUuid": ids["chat"]}),
    ]


class TestStoredValuesStayReadable:
    """`allowed`/`owner`: a server whose webhook tools may point at 127.0.0.1 (nothing is called)."""

    async def test_deep_json(self, allowed: Server, owner: Tenant, llm: FakeLLM) -> None:
        ids = await seed(allowed, owner, llm, deep(900))
        for path, params in reads(ids):
            response = await owner.client.get(path, params=params)
            assert response.status_code == 200, (path, response.text[:300])
        agent = (await owner.client.get(f"/v1/ai/agents/{ids['agent']}")).json()["agent"]
        # What fits is kept; the part nested past 100 levels says it was cut.
        assert depth_of(agent["template"]["t"]) == 99
        assert TOO_DEEP in str(agent["template"])
        messages = (await owner.client.get("/v1/ai/messages/list", params={"chatUuid": ids["chat"]})).json()
        assert [p["type"] for p in messages["messages"][0]["parts"]] == ["data-x", "text"]

    async def test_lone_surrogates(self, allowed: Server, owner: Tenant, llm: FakeLLM, backend: str) -> None:
        if backend == "postgres":
            return  # jsonb never accepted them: there is no such row to read
        ids = await seed(allowed, owner, llm, {"s\ud800": "a\udfffb"})
        for path, params in reads(ids):
            response = await owner.client.get(path, params=params)
            assert response.status_code == 200, (path, response.text[:300])
        agent = (await owner.client.get(f"/v1/ai/agents/{ids['agent']}")).json()["agent"]
        assert agent["template"] == {"t": {"s\ufffd": "a\ufffdb"}}
