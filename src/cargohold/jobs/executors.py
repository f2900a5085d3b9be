"""Which executor an API instance hands its turns to, and which scheduler fires agents' triggers: in
process (the default), or Temporal when `CARGOHOLD_TEMPORAL_ADDRESS` is set (then this instance runs
no turn, `cargohold worker`s do, and the triggers are Temporal Schedules)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..state import AppState
from .runs import RunExecutor
from .schedules import scheduler_loop

if TYPE_CHECKING:
    from .temporal.executor import TemporalExecutor

__all__ = ["make_executor", "start_scheduler"]


async def make_executor(state: AppState) -> RunExecutor | TemporalExecutor:
    settings = state.settings
    if not settings.temporal_address:
        return RunExecutor(state.turn_deps(), state.broker)
    if not settings.redis_url:
        raise RuntimeError("CARGOHOLD_TEMPORAL_ADDRESS needs CARGOHOLD_REDIS_URL: workers stream turns through Redis")
    from .temporal.executor import TemporalExecutor, connect  # temporalio only when configured

    # Lazy: the API starts while Temporal is down (`/readyz` says so) and connects on first use.
    return TemporalExecutor(await connect(settings, lazy=True), settings, state.sessions, state.broker)


def start_scheduler(state: AppState) -> asyncio.Task[None] | None:
    """The lifespan's scheduler: Temporal's schedules kept in step with the agents when Temporal is
    configured (the workers fire them), else this instance's share of the in-process scheduler."""
    settings = state.settings
    if settings.temporal_address:
        from .temporal.schedules import TemporalSchedules, schedule_loop  # temporalio only when configured

        client = getattr(state.executor, "client", None)
        if client is None:
            return None
        schedules = state.schedules = TemporalSchedules(client, settings, state.reads)
        return asyncio.create_task(schedule_loop(schedules), name="temporal-schedules")
    if not settings.scheduler_enabled:
        return None
    return asyncio.create_task(scheduler_loop(state), name="scheduler")
