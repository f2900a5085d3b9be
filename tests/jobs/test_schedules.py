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
from ..harness import Server, start_server, wait_until


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
