"""Scheduled agents on Temporal: each cron trigger of a deployed agent is a Temporal Schedule
(`cargohold-cron-<agent>-<trigger hash>`), and so is its deployed release's heartbeat
(`cargohold-heartbeat-<agent>`). Their action starts `ScheduledWorkflow`, whose one activity (on a
`cargohold worker`) makes the tick's chat, or wakes the chats, through `jobs/schedules.py`: the
same claims in `schedule_ticks` as in process, so a tick fires once; the turns then run as any
turn on Temporal (`turn-<message uuid>` workflows).

Kept in step with the agents: the API calls `TemporalSchedules.agent_changed` after an agent is
created, updated or deleted and after a deploy (`services/ports.ScheduleSync`), and reconciles
every agent at start and every `RECONCILE_SECONDS` (drift repaired: a schedule missed while
Temporal was down is made, one left behind is deleted). A schedule that fires for a trigger or
heartbeat that is gone deletes itself and fires nothing."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity, workflow
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.service import RPCError

from ...db.engine import SessionFactory
from ...db.tables import Agent, Release
from ...services.ports import TurnDeps
from ...settings import Settings
from ...state import AppState
from ...stream.broker import Broker
from ..schedules import fire_trigger, heartbeat_of, trigger_key, wake_chats

__all__ = ["FIRE_SCHEDULE", "ScheduleActivities", "ScheduledWorkflow", "TemporalSchedules", "schedule_loop"]

log = logging.getLogger(__name__)

FIRE_SCHEDULE = "cargohold.fire_schedule"
RECONCILE_SECONDS = 300.0
_PREFIX = "cargohold-"
_SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@dataclass
class ScheduleInput:
    kind: str
    """`cron` or `heartbeat`."""
    agent_uuid: str
    trigger_key: str = ""


@workflow.defn(name="cargohold.scheduled")
class ScheduledWorkflow:
    """One tick of a schedule: one activity, retried (it is idempotent through the tick's claim)."""

    @workflow.run
    async def run(self, tick: ScheduleInput) -> str:
        info = workflow.info()
        at = info.typed_search_attributes.get(_SCHEDULED_AT) or info.start_time
        return await workflow.execute_activity(
            FIRE_SCHEDULE,
            args=[tick, at.isoformat()],
            result_type=str,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=5),
        )


def cron_id(agent_uuid: uuid.UUID | str, key: str) -> str:
    return f"{_PREFIX}cron-{agent_uuid}-{key[:16]}"


def heartbeat_id(agent_uuid: uuid.UUID | str) -> str:
    return f"{_PREFIX}heartbeat-{agent_uuid}"


def _cron_spec(cron: str, minute_seconds: float) -> ScheduleSpec:
    """The trigger's cron; with a shortened scheduler minute (tests), `* * * * *` and `*/n * * * *`
    become intervals of that many (shortened) minutes, and other expressions keep real time."""
    fields = cron.split()
    if minute_seconds != 60 and fields[1:] == ["*"] * 4 and (fields[0] == "*" or fields[0].startswith("*/")):
        step = int(fields[0][2:]) if fields[0] != "*" else 1
        return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=step * minute_seconds))])
    return ScheduleSpec(cron_expressions=[cron])


class TemporalSchedules:
    """The API side: Temporal's schedules made to match the agents (`services/ports.ScheduleSync`)."""

    def __init__(self, client: Client, settings: Settings, reads: SessionFactory) -> None:
        self.client = client
        self.settings = settings
        self.reads = reads

    async def agent_changed(self, agent_uuid: uuid.UUID) -> None:
        try:
            async with self.reads() as session:
                row = (
                    await session.execute(
                        sa.select(Agent, Release)
                        .outerjoin(Release, Release.uuid == Agent.deployed_release_uuid)
                        .where(Agent.uuid == agent_uuid)
                    )
                ).first()
            wanted = self._wanted(*row) if row is not None else {}
            have = {i for i in await self._existing() if str(agent_uuid) in i}
            await self._apply(wanted, have)
        except (RPCError, RuntimeError, OSError) as exc:  # repaired by the next reconcile
            log.warning("agent %s: its Temporal schedules were not updated: %s", agent_uuid, exc)

    def cron_schedule_id(self, agent_uuid: uuid.UUID, trigger: dict[str, Any]) -> str | None:
        return cron_id(agent_uuid, trigger_key(trigger))

    async def reconcile(self) -> None:
        """Every agent's schedules as they should be; those of no agent deleted."""
        wanted: dict[str, Schedule] = {}
        async with self.reads() as session:
            rows = await session.execute(
                sa.select(Agent, Release)
                .join(Release, Release.uuid == Agent.deployed_release_uuid)
                .where(Agent.deleted_at.is_(None))
            )
            for agent, release in rows:
                wanted |= self._wanted(agent, release)
        await self._apply(wanted, set(await self._existing()))

    def _wanted(self, agent: Agent, release: Release | None) -> dict[str, Schedule]:
        if agent.deleted_at is not None or release is None:
            return {}
        minute = self.settings.scheduler_minute_seconds
        wanted = {}
        for trigger in agent.triggers or []:
            if isinstance(trigger, dict) and trigger.get("type") == "cron":
                key = trigger_key(trigger)
                spec = _cron_spec(str(trigger.get("cron")), minute)
                wanted[cron_id(agent.uuid, key)] = self._schedule(ScheduleInput("cron", str(agent.uuid), key), spec)
        heartbeat = heartbeat_of(release)
        if heartbeat is not None:
            every = timedelta(seconds=heartbeat.interval_minutes * minute)
            since = (release.deployed_at or release.updated_at).timestamp()
            offset = timedelta(seconds=since % every.total_seconds())
            spec = ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every, offset=offset)])
            wanted[heartbeat_id(agent.uuid)] = self._schedule(ScheduleInput("heartbeat", str(agent.uuid)), spec)
        return wanted

    def _schedule(self, tick: ScheduleInput, spec: ScheduleSpec) -> Schedule:
        action = ScheduleActionStartWorkflow(
            ScheduledWorkflow.run,
            tick,
            id=f"scheduled-{tick.kind}-{tick.agent_uuid}-{tick.trigger_key[:16]}".rstrip("-"),
            task_queue=self.settings.temporal_task_queue,
        )
        return Schedule(action=action, spec=spec, policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL))

    async def _existing(self) -> list[str]:
        return [s.id async for s in await self.client.list_schedules() if s.id.startswith(_PREFIX)]

    async def _apply(self, wanted: dict[str, Schedule], have: set[str]) -> None:
        for schedule_id, schedule in wanted.items():
            try:
                await self.client.create_schedule(schedule_id, schedule)
            except ScheduleAlreadyRunningError:

                def replace(_: ScheduleUpdateInput, schedule: Schedule = schedule) -> ScheduleUpdate:
                    return ScheduleUpdate(schedule=schedule)

                await self.client.get_schedule_handle(schedule_id).update(replace)
        for schedule_id in have - set(wanted):
            await _delete(self.client, schedule_id)


async def _delete(client: Client, schedule_id: str) -> None:
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as exc:
        if "not found" not in str(exc).lower():
            raise


async def schedule_loop(schedules: TemporalSchedules) -> None:
    """The API instance's reconciler: at start (Temporal may be down: retried), then every few minutes."""
    while True:
        try:
            await schedules.reconcile()
            delay = RECONCILE_SECONDS
        except Exception as exc:
            log.warning("Temporal schedules not reconciled (retried): %s", exc)
            delay = 10.0
        await asyncio.sleep(delay)


class ScheduleActivities:
    """The worker side: the tick's work, with an app state of the worker's own (`worker_state`)."""

    def __init__(self, state: AppState, client: Client) -> None:
        self.state = state
        self.client = client

    @classmethod
    def for_worker(cls, deps: TurnDeps, engine: AsyncEngine, broker: Broker, client: Client) -> ScheduleActivities:
        """The services a tick calls (`start_turn`) need an app state: the worker's, whose turns
        are started as workflows like an API instance's."""
        from ...runtime.outbound import AllowList
        from ...services.connectors import open_connectors
        from ...state import AppState
        from .executor import TemporalExecutor

        settings = deps.settings
        state = AppState(
            settings,
            engine,
            deps.sessions,
            broker,
            deps.models,
            deps.tools,
            deps.plugins,
            AllowList.parse(settings.allow_private_urls),
            deps.http,
            deps.tool_runs,
            deps.sessions,
        )
        if deps.blobs is not None:
            state.blobs = deps.blobs
        state.executor = TemporalExecutor(client, settings, deps.sessions, broker)
        open_connectors(state)
        return cls(state, client)

    @activity.defn(name=FIRE_SCHEDULE)
    async def fire(self, tick: ScheduleInput, at: str) -> str:
        moment = datetime.fromisoformat(at).astimezone(UTC).replace(microsecond=0)
        async with self.state.reads() as session:
            row = (
                await session.execute(
                    sa.select(Agent, Release)
                    .join(Release, Release.uuid == Agent.deployed_release_uuid)
                    .where(Agent.uuid == uuid.UUID(tick.agent_uuid), Agent.deleted_at.is_(None))
                )
            ).first()
        agent, release = row if row is not None else (None, None)
        if tick.kind == "cron":
            triggers: list[Any] = agent.triggers or [] if agent is not None else []
            trigger = next((t for t in triggers if isinstance(t, dict) and trigger_key(t) == tick.trigger_key), None)
            if agent is not None and trigger is not None:
                chat = await fire_trigger(self.state, agent, trigger, moment, retry=True)
                return f"chat {chat}"
            schedule_id = cron_id(tick.agent_uuid, tick.trigger_key)
        else:
            heartbeat = heartbeat_of(release)
            if agent is not None and heartbeat is not None:
                woken = await wake_chats(self.state, agent, heartbeat, moment)
                return f"woke {len(woken)} chats"
            schedule_id = heartbeat_id(tick.agent_uuid)
        log.info("schedule %s: its trigger is gone; deleted", schedule_id)
        await _delete(self.client, schedule_id)
        return "stale"
