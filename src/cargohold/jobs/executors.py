"""Which executor an API instance hands its turns to: in process (the default), or Temporal when
`CARGOHOLD_TEMPORAL_ADDRESS` is set (then this instance runs no turn: `cargohold worker`s do)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..state import AppState
from .runs import RunExecutor

if TYPE_CHECKING:
    from .temporal.executor import TemporalExecutor

__all__ = ["make_executor"]


async def make_executor(state: AppState) -> RunExecutor | TemporalExecutor:
    settings = state.settings
    if not settings.temporal_address:
        return RunExecutor(state.turn_deps(), state.broker)
    if not settings.redis_url:
        raise RuntimeError("CARGOHOLD_TEMPORAL_ADDRESS needs CARGOHOLD_REDIS_URL: workers stream turns through Redis")
    from .temporal.executor import TemporalExecutor, connect  # temporalio only when configured

    # Lazy: the API starts while Temporal is down (`/readyz` says so) and connects on first use.
    return TemporalExecutor(await connect(settings, lazy=True), settings, state.sessions, state.broker)
