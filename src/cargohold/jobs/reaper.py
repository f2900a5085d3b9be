"""The lease reaper: a message left `pending`/`generating` by a process that died is finished as
`error` ("interrupted") with the parts and usage its last heartbeat saved, through the same
`finish_message` as a run that ends itself; its stream, if a broker still holds it, gets the
same ending, so no reader waits forever."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from .. import metrics
from ..db.types import utcnow
from ..runtime.credits import UsageRecord
from ..services.finish import INTERRUPTED, Ending, finish_message
from ..services.ports import Executor
from ..state import AppState
from ..store.messages import expired_unfinished
from ..stream.publisher import StreamPublisher

__all__ = ["reap_once", "reaper_loop"]

log = logging.getLogger(__name__)


async def reap_once(state: AppState) -> list[uuid.UUID]:
    executor: Executor = state.executor
    now = utcnow()
    async with state.sessions() as session:
        expired = [
            (m.uuid, _ending(m.parts, m.usage, m.meta))
            for m in await expired_unfinished(session, now)
            if not executor.is_running(m.uuid)  # this process runs it and is alive: late (overload), not dead
            and m.temporal_workflow_id is None  # Temporal's: another worker takes it over, never reaped
        ]
    reaped = []
    for message_uuid, ending in expired:
        stream_id = str(message_uuid)
        publisher = None
        if await state.broker.exists(stream_id):
            publisher = StreamPublisher(state.broker, stream_id, state.settings.ai_sdk_version)
        if await finish_message(state.sessions, publisher, message_uuid, ending, lease_expired_before=now):
            log.warning("message %s: lease expired, marked interrupted", message_uuid)
            metrics.TURNS_REAPED.inc()
            reaped.append(message_uuid)
    return reaped


def _ending(parts: Any, usage: Any, meta: Any) -> Ending:
    """What the last heartbeat saved; `evaluatedTools` stays as stored."""
    record = UsageRecord.of_stored(usage)
    return Ending(
        "error",
        "error",
        INTERRUPTED,
        parts=list(parts or []),
        usage=record,
        meta={**(meta or {}), "steps": record.requests_count},
    )


async def reaper_loop(state: AppState) -> None:
    while True:
        try:
            await reap_once(state)
        except Exception:
            log.exception("lease reaper pass failed")
        await asyncio.sleep(state.settings.reaper_interval_seconds)
