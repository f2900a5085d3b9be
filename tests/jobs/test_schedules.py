"""Cron triggers fire (jobs/schedules.py), on SQLite and PostgreSQL: each tick once, however many
passes look for it (as two instances would), on the deployed release, in a `schedule` chat. Not an
API test: the clock is the test's (`fire_due(state, now)`), so no test waits a minute. The
cron parser's edge cases are unit tests at the end (pure functions)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cargohold.cron import Cron, CronError
from cargohold.jobs.schedules import fire_due
from cargohold.settings import Settings

from ..conftest import MakeTenant, Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, new_uuid, start_server, stream_body, stream_turn, wait_until


@pytest.fixture
async def quiet(make_settings: Callable[..., Settings]) -> AsyncIterator[Server]:
    """A server whose own scheduler is off: the test is the only clock."""
    async with start_server(make_settings(scheduler_enabled=False)) as srv:
        yield srv


async def test_cron_ticks_fire_once_each(quiet: Server, make_tenant: MakeTenant, llm: FakeLLM) -> None:
    server, tenant = quiet, await make_tenant(quiet)
    llm.default = Reply(text="Morning digest.")
    trigger = {"type": "cron", "name": "digest", "cron": "*/5 * * * *", "text": "Summarise yesterday"}
    agent = (await tenant.client.post("/v1/ai/agents", json={"name": "Digest", "triggers": [trigger]})).json()["agent"]
    state = server.state
    base = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    base = base.replace(minute=base.minute - base.minute % 5)
    # No deployed release yet: nothing fires.
    assert await fire_due(state, base) == []
    deployed = await tenant.client.post("/v1/ai/releases/deployDraft", json={"agentUuid": agent["uuid"]})
    assert deployed.status_code == 200
    # Two instances looking at the same moment (and a later look within the same tick): one chat.
    passes = await asyncio.gather(
        fire_due(state, base), fire_due(state, base), fire_due(state, base + timedelta(minutes=2))
    )
    assert sorted(len(p) for p in passes) == [0, 0, 1]
    # The next tick fires; ticks missed in between fire once, only the latest.
    later = await fire_due(state, base + timedelta(minutes=16))
    assert len(later) == 1 and await fire_due(state, base + timedelta(minutes=19)) == []

    async def chats() -> list[dict[str, Any]]:
        listed = await tenant.client.get("/v1/ai/chats/list", params={"triggerType": "schedule"})
        return listed.json()["chats"]

    async def answered() -> bool:
        for chat in await chats():
            listed = await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat["uuid"]})
            if [m["status"] for m in listed.json()["messages"]] != ["success", "success"]:
                return False
        return True

    await wait_until(answered, timeout=30)
    made = await chats()
    assert {c["uuid"] for c in made} == {str(u) for u in [*passes[0], *passes[1], *passes[2], *later]}
    for chat in made:
        assert chat["trigger"] == {"type": "schedule"} and chat["agentUuid"] == agent["uuid"]
        assert chat["releaseUuid"] == deployed.json()["release"]["uuid"]
        messages = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat["uuid"]})).json()
        assert messages["messages"][0]["parts"] == [{"type": "text", "text": "Summarise yesterday"}]
        assert messages["messages"][1]["parts"][-1]["text"] == "Morning digest."
    # Triggers removed: nothing more fires.
    await tenant.client.put(f"/v1/ai/agents/{agent['uuid']}", json={"triggers": []})
    assert await fire_due(state, base + timedelta(minutes=40)) == []


async def test_an_unparseable_cron_is_refused(tenant: Tenant) -> None:
    trigger = {"type": "cron", "name": "x", "cron": "0 9 L * *", "text": "t"}
    response = await tenant.client.post("/v1/ai/agents", json={"name": "Bad", "triggers": [trigger]})
    assert response.status_code == 400 and "cron" in response.json()["errorMessage"]


@pytest.mark.parametrize(
    ("expression", "moment", "last"),
    [
        ("0 9 * * 1-5", datetime(2026, 12, 6, 12, 0), datetime(2026, 12, 4, 9, 0)),  # Sunday -> Friday
        ("0 9 * * MON-FRI", datetime(2026, 12, 7, 9, 0), datetime(2026, 12, 7, 9, 0)),
        ("*/15 * * * *", datetime(2026, 12, 6, 12, 14, 59), datetime(2026, 12, 6, 12, 0)),
        ("30 8 1 JAN *", datetime(2026, 12, 6, 12, 7), datetime(2026, 1, 1, 8, 30)),
        ("0 0 13 * 5", datetime(2026, 12, 6), datetime(2026, 12, 4)),  # day 13 OR Friday (Vixie cron)
        ("0 12 * * 7", datetime(2026, 12, 7), datetime(2026, 12, 6, 12, 0)),  # 7 is Sunday
    ],
)
def test_last_tick(expression: str, moment: datetime, last: datetime) -> None:
    assert Cron.parse(expression).last_at_or_before(moment.replace(tzinfo=UTC)) == last.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "expression", ["* * * *", "60 * * * *", "* * * * 8", "5-1 * * * *", "*/0 * * * *", "0 9 L * *"]
)
def test_bad_expressions(expression: str) -> None:
    with pytest.raises(CronError):
        Cron.parse(expression)


async def test_heartbeat_wakes_idle_chats_once_per_tick(quiet: Server, make_tenant: MakeTenant, llm: FakeLLM) -> None:
    """A deployed release's heartbeat: every `intervalMinutes` from its deployment, each finished
    chat of the agent gets the prompt as a user message, once per tick however many passes look (as
    two instances would), at most `maxMessages` times per chat; `draft` chats are left alone."""
    tenant = await make_tenant(quiet)
    client, state = tenant.client, quiet.state
    agent = (await client.post("/v1/ai/agents", json={"name": "Pulse"})).json()["agent"]
    heartbeat = {"intervalMinutes": 30, "maxMessages": 2, "prompt": "Any news?"}
    bad = await client.post("/v1/ai/releases/deployDraft", json={"agentUuid": agent["uuid"], "heartbeat": {"x": 1}})
    assert bad.status_code == 400 and "heartbeat" in bad.json()["errorMessage"]
    deployed = await client.post(
        "/v1/ai/releases/deployDraft", json={"agentUuid": agent["uuid"], "heartbeat": heartbeat}
    )
    assert deployed.status_code == 200, deployed.text
    assert deployed.json()["release"]["heartbeat"] == heartbeat
    llm.default = Reply(text="All quiet.")
    chats = []
    for trigger in ("app", "app", "draft"):
        chat = new_uuid()
        body = stream_body(chat, "hi", agentUuid=agent["uuid"], chatTrigger={"type": trigger})
        sent, _ = await stream_turn(client, body)
        assert sent.status_code == 200
        chats.append(chat)

    async def statuses(chat: str) -> list[tuple[str, str]]:
        listed = (await client.get("/v1/ai/messages/list", params={"chatUuid": chat})).json()["messages"]
        return [(m["type"], m["status"]) for m in listed]

    async def settled() -> bool:
        return all([all(s == "success" for _, s in await statuses(c)) for c in chats])

    await wait_until(settled, timeout=30)
    start = datetime.fromisoformat(deployed.json()["release"]["deployedAt"])
    assert await fire_due(state, start + timedelta(minutes=29)) == []  # no tick yet
    tick = start + timedelta(minutes=31)
    passes = await asyncio.gather(fire_due(state, tick), fire_due(state, tick), fire_due(state, tick))
    woken = sorted(str(c) for p in passes for c in p)
    assert woken == sorted(chats[:2]), "each chat once; the draft chat never"
    await wait_until(settled, timeout=30)
    assert await fire_due(state, tick + timedelta(minutes=20)) == []  # the same tick
    assert len(await fire_due(state, tick + timedelta(minutes=30))) == 2  # the next one
    await wait_until(settled, timeout=30)
    assert await fire_due(state, tick + timedelta(minutes=60)) == []  # maxMessages reached
    for chat in chats[:2]:
        listed = (await client.get("/v1/ai/messages/list", params={"chatUuid": chat})).json()["messages"]
        assert [m["parts"][0]["text"] for m in listed if m["type"] == "user"] == ["hi", "Any news?", "Any news?"]
    assert len(await statuses(chats[2])) == 2
