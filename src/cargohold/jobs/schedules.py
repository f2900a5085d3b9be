"""Scheduled agents: an agent's cron triggers (`{type: "cron", cron, text}`) fire on their ticks. On
each tick a chat with trigger `{type: "schedule"}` is created for the agent, on its deployed
release, and the trigger's `text` is sent as the user message; the turn runs like any other (in
process, or on Temporal's workers).

Every API instance runs this loop; exactly one fires each tick: it claims the tick with a row in
`schedule_ticks` (primary key: agent, trigger, tick), and the others' claims fail. Only the
latest tick due is considered, and only one after the trigger was set (the agent's last update):
a tick missed while every instance was down is fired once, late, and never twice.

`CARGOHOLD_SCHEDULER_MINUTE_SECONDS` sets the scheduler's clock: a cron minute lasts that many
real seconds (60; tests make it 1, so `* * * * *` ticks every second)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..cron import Cron, CronError
from ..db.tables import Agent, ScheduleTick
from ..db.types import utcnow
from ..schemas.messages import MessageStream
from ..services.messages import start_turn
from ..state import AppState
from ..store.workspaces import Principal

__all__ = ["fire_due", "scheduler_loop", "trigger_key"]

log = logging.getLogger(__name__)


def trigger_key(trigger: dict[str, Any]) -> str:
    return hashlib.sha256(f"{trigger.get('cron')}\n{trigger.get('text')}".encode()).hexdigest()[:64]


class _Clock:
    """Real time <-> the scheduler's time, where a cron minute lasts `minute_seconds` real seconds."""

    def __init__(self, minute_seconds: float) -> None:
        self.scale = 60.0 / minute_seconds

    def to_cron(self, moment: datetime) -> datetime:
        return datetime.fromtimestamp(moment.timestamp() * self.scale, UTC)


async def fire_due(state: AppState, now: datetime | None = None) -> list[uuid.UUID]:
    """Fire every cron tick due now that no instance has claimed; the chats made."""
    clock = _Clock(state.settings.scheduler_minute_seconds)
    cron_now = clock.to_cron(now or utcnow())
    async with state.reads() as session:
        agents = (
            await session.execute(
                sa.select(Agent).where(Agent.deleted_at.is_(None), Agent.deployed_release_uuid.is_not(None))
            )
        ).scalars()
        due: list[tuple[Agent, dict[str, Any], datetime]] = []
        for agent in agents:
            since = clock.to_cron(agent.updated_at)
            for trigger in agent.triggers or []:
                if not isinstance(trigger, dict) or trigger.get("type") != "cron":
                    continue
                try:
                    cron = Cron.parse(str(trigger.get("cron", "")))
                except CronError as exc:
                    log.warning("agent %s: cron trigger %r not fired: %s", agent.uuid, trigger.get("cron"), exc)
                    continue
                tick = cron.last_at_or_before(cron_now, horizon=min(cron_now - since, timedelta(days=366)))
                if tick is not None and tick > since:
                    due.append((agent, trigger, tick))
    fired = []
    for agent, trigger, tick in due:
        chat_uuid = await _fire(state, agent, trigger, tick)
        if chat_uuid is not None:
            fired.append(chat_uuid)
    return fired


async def _fire(state: AppState, agent: Agent, trigger: dict[str, Any], tick: datetime) -> uuid.UUID | None:
    key = trigger_key(trigger)
    try:
        async with state.sessions() as session, session.begin():
            if await session.get(ScheduleTick, (agent.uuid, key, tick)) is not None:
                return None
            session.add(
                ScheduleTick(agent_uuid=agent.uuid, trigger_key=key, tick_at=tick, workspace_uuid=agent.workspace_uuid)
            )
    except IntegrityError:  # another instance claimed it first
        return None
    chat_uuid = uuid.uuid4()
    body = MessageStream.model_validate(
        {
            "chatUuid": str(chat_uuid),
            "agentUuid": str(agent.uuid),
            "chatTrigger": {"type": "schedule"},
            "parts": [{"type": "text", "text": str(trigger.get("text") or "")}],
        }
    )
    who = Principal(agent.workspace_uuid, agent.user_uuid)  # type: ignore[arg-type]  # None: no user
    try:
        await start_turn(state, who, body, create_chat=True)
    except Exception:
        log.exception("agent %s: cron tick %s could not start its turn", agent.uuid, tick.isoformat())
        return None
    async with state.sessions() as session, session.begin():
        await session.execute(
            sa.update(ScheduleTick)
            .where(ScheduleTick.agent_uuid == agent.uuid, ScheduleTick.trigger_key == key, ScheduleTick.tick_at == tick)
            .values(chat_uuid=chat_uuid)
        )
    log.info("agent %s: cron tick %s made chat %s", agent.uuid, tick.isoformat(), chat_uuid)
    return chat_uuid


async def scheduler_loop(state: AppState) -> None:
    while True:
        try:
            await fire_due(state)
        except Exception:
            log.exception("scheduler pass failed")
        await asyncio.sleep(state.settings.scheduler_interval_seconds)
