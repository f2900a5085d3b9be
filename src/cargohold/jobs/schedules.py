"""Scheduled agents: an agent's cron triggers (`{type: "cron", cron, text}`) fire on their ticks,
and its deployed release's `heartbeat` (`{intervalMinutes, maxMessages, prompt}`) wakes its chats.

- A cron tick creates a chat with trigger `{type: "schedule"}` for the agent, on its deployed
  release, and sends the trigger's `text` as the user message.
- A heartbeat tick (every `intervalMinutes` from the release's deployment) sends `prompt` (or
  `HEARTBEAT_PROMPT` when null) as a user message to each chat of the agent that is not a `draft`
  chat, has a finished last message (a chat being answered is skipped that tick), and was woken
  fewer than `maxMessages` times.

The turns run like any other (in process, or on Temporal's workers). Without Temporal every API
instance runs `scheduler_loop`; exactly one fires each tick: it claims the tick with a row in
`schedule_ticks` (primary key: agent, key, tick; the key is the trigger's hash, or
`heartbeat:<chat uuid>` for a chat's wake-up, so its rows also count the chat's wake-ups), and the
others' claims fail. Only the latest tick due is considered, and only one after the trigger was set
(the agent's last update) or the release deployed: a tick missed while every instance was down is
fired once, late, and never twice. With Temporal, each trigger and heartbeat is a Temporal Schedule
(`temporal/schedules.py`) whose workflow calls `fire_trigger` / `wake_chats` with its tick.

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
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from ..cron import Cron, CronError
from ..db.tables import Agent, Chat, Release, ScheduleTick
from ..db.types import utcnow
from ..schemas.messages import MessageStream
from ..schemas.releases import Heartbeat
from ..services.messages import start_turn
from ..state import AppState
from ..store.workspaces import Principal

__all__ = [
    "HEARTBEAT_PROMPT",
    "fire_due",
    "fire_trigger",
    "heartbeat_of",
    "scheduler_loop",
    "trigger_key",
    "wake_chats",
]

log = logging.getLogger(__name__)

HEARTBEAT_PROMPT = (
    "Heartbeat: time has passed since this conversation's last message. Check whether anything in it "
    "needs a follow-up now and do it; if nothing does, say so in one short sentence."
)
_FINISHED = ("success", "error", "cancelled")


def trigger_key(trigger: dict[str, Any]) -> str:
    return hashlib.sha256(f"{trigger.get('cron')}\n{trigger.get('text')}".encode()).hexdigest()[:64]


_WAKE = "heartbeat:"


def heartbeat_key(chat_uuid: uuid.UUID) -> str:
    return f"{_WAKE}{chat_uuid}"


def heartbeat_of(release: Release | None) -> Heartbeat | None:
    if release is None or not release.heartbeat:
        return None
    try:
        return Heartbeat.model_validate(release.heartbeat)
    except ValidationError:
        log.warning("release %s: stored heartbeat %r is not valid; not fired", release.uuid, release.heartbeat)
        return None


def _tick_chat_uuid(agent_uuid: uuid.UUID, key: str, tick: datetime) -> uuid.UUID:
    """The chat a cron tick makes, the same on every try (a retried Temporal activity finds it)."""
    digest = hashlib.sha256(f"{agent_uuid}/{key}/{tick.isoformat()}".encode()).digest()
    return uuid.UUID(bytes=digest[:16], version=4)


class _Clock:
    """Real time <-> the scheduler's time, where a cron minute lasts `minute_seconds` real seconds."""

    def __init__(self, minute_seconds: float) -> None:
        self.scale = 60.0 / minute_seconds

    def to_cron(self, moment: datetime) -> datetime:
        return datetime.fromtimestamp(moment.timestamp() * self.scale, UTC)


def _heartbeat_tick(heartbeat: Heartbeat, since: datetime, now: datetime) -> datetime | None:
    """The latest tick of `since + n * intervalMinutes` (n >= 1) at or before `now`."""
    every = timedelta(minutes=heartbeat.interval_minutes)
    n = (now - since) // every
    return since + n * every if n >= 1 else None


async def fire_due(state: AppState, now: datetime | None = None) -> list[uuid.UUID]:
    """Fire every cron tick and heartbeat due now that no instance has claimed; the chats made or woken."""
    clock = _Clock(state.settings.scheduler_minute_seconds)
    cron_now = clock.to_cron(now or utcnow())
    due: list[tuple[Agent, dict[str, Any], datetime]] = []
    beats: list[tuple[Agent, Heartbeat, datetime]] = []
    async with state.reads() as session:
        rows = await session.execute(
            sa.select(Agent, Release)
            .join(Release, Release.uuid == Agent.deployed_release_uuid)
            .where(Agent.deleted_at.is_(None))
        )
        for agent, release in rows:
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
            heartbeat = heartbeat_of(release)
            deployed = release.deployed_at or release.updated_at
            if heartbeat is not None and (tick := _heartbeat_tick(heartbeat, clock.to_cron(deployed), cron_now)):
                beats.append((agent, heartbeat, tick))
    fired = []
    for agent, trigger, tick in due:
        chat_uuid = await fire_trigger(state, agent, trigger, tick)
        if chat_uuid is not None:
            fired.append(chat_uuid)
    for agent, heartbeat, tick in beats:
        fired.extend(await wake_chats(state, agent, heartbeat, tick))
    return fired


async def _claim(state: AppState, agent: Agent, key: str, tick: datetime, chat_uuid: uuid.UUID | None) -> bool:
    try:
        async with state.sessions() as session, session.begin():
            if await session.get(ScheduleTick, (agent.uuid, key, tick)) is not None:
                return False
            session.add(
                ScheduleTick(
                    agent_uuid=agent.uuid,
                    trigger_key=key,
                    tick_at=tick,
                    workspace_uuid=agent.workspace_uuid,
                    chat_uuid=chat_uuid,
                )
            )
    except IntegrityError:  # another instance claimed it first
        return False
    return True


async def _chat_exists(state: AppState, chat_uuid: uuid.UUID) -> bool:
    async with state.reads() as session:
        return await session.get(Chat, chat_uuid) is not None


async def fire_trigger(
    state: AppState, agent: Agent, trigger: dict[str, Any], tick: datetime, *, retry: bool = False
) -> uuid.UUID | None:
    """Claim the tick and make its chat; None when another instance has it. With `retry` (a
    Temporal activity tried again) a claimed tick whose chat was not made yet is made now."""
    key = trigger_key(trigger)
    chat_uuid = _tick_chat_uuid(agent.uuid, key, tick)
    if not await _claim(state, agent, key, tick, None) and not (retry and not await _chat_exists(state, chat_uuid)):
        return None
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


async def wake_chats(state: AppState, agent: Agent, heartbeat: Heartbeat, tick: datetime) -> list[uuid.UUID]:
    """The heartbeat's tick: a user turn with its prompt in each of the agent's chats that is due;
    each chat claimed for the tick by one instance. The chats woken."""
    async with state.reads() as session:
        counted = await session.execute(
            sa.select(
                ScheduleTick.trigger_key,
                sa.func.count(),
                sa.func.max(sa.case((ScheduleTick.tick_at == tick, 1), else_=0)),
            )
            .where(ScheduleTick.agent_uuid == agent.uuid, ScheduleTick.trigger_key.startswith(_WAKE))
            .group_by(ScheduleTick.trigger_key)
        )
        woken = {key: (count, bool(now)) for key, count, now in counted}
        chats = await session.execute(
            sa.select(Chat.uuid, Chat.user_uuid).where(
                Chat.workspace_uuid == agent.workspace_uuid,
                Chat.agent_uuid == agent.uuid,
                Chat.deleted_at.is_(None),
                Chat.trigger_type != "draft",
                Chat.last_message_status.in_(_FINISHED),
            )
        )
        due = []
        for chat_uuid, user_uuid in chats:
            count, this_tick = woken.get(heartbeat_key(chat_uuid), (0, False))
            if count < heartbeat.max_messages and not this_tick:
                due.append((chat_uuid, user_uuid))
    prompt = heartbeat.prompt or HEARTBEAT_PROMPT
    fired = []
    for chat_uuid, user_uuid in due:
        key = heartbeat_key(chat_uuid)
        if not await _claim(state, agent, key, tick, chat_uuid):
            continue
        body = MessageStream.model_validate({"chatUuid": str(chat_uuid), "parts": [{"type": "text", "text": prompt}]})
        who = Principal(agent.workspace_uuid, user_uuid or agent.user_uuid)  # type: ignore[arg-type]  # None: no user
        try:
            await start_turn(state, who, body, create_chat=False)
        except Exception as exc:  # e.g. the chat's user sent a message meanwhile: not a wake-up
            log.info("agent %s: heartbeat %s did not wake chat %s: %s", agent.uuid, tick.isoformat(), chat_uuid, exc)
            async with state.sessions() as session, session.begin():
                await session.execute(
                    sa.delete(ScheduleTick).where(
                        ScheduleTick.agent_uuid == agent.uuid,
                        ScheduleTick.trigger_key == key,
                        ScheduleTick.tick_at == tick,
                    )
                )
            continue
        fired.append(chat_uuid)
    if fired:
        log.info("agent %s: heartbeat %s woke %d chats", agent.uuid, tick.isoformat(), len(fired))
    return fired


async def scheduler_loop(state: AppState) -> None:
    while True:
        try:
            await fire_due(state)
        except Exception:
            log.exception("scheduler pass failed")
        await asyncio.sleep(state.settings.scheduler_interval_seconds)
