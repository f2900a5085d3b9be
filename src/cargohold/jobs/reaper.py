"""The lease reaper: a message left `pending`/`generating` by a process that died is ended as
`error` ("interrupted") with the parts and usage its last heartbeat saved, and its stream, if a
broker still holds it, gets a proper ending so no reader waits forever."""

from __future__ import annotations

import asyncio
import logging
import uuid

from ..db.tables import Chat
from ..db.types import utcnow
from ..services.turns import INTERRUPTED
from ..state import AppState
from ..store.messages import expired_unfinished, set_status
from ..stream.publisher import StreamPublisher

__all__ = ["reap_once", "reaper_loop"]

log = logging.getLogger(__name__)


async def reap_once(state: AppState) -> list[uuid.UUID]:
    reaped: list[tuple[uuid.UUID, dict[str, object] | None]] = []
    running = set(state.executor.tasks)
    async with state.sessions() as session, session.begin():
        for message in await expired_unfinished(session, utcnow()):
            if message.uuid in running:
                continue  # this process runs it and is alive: its lease is late (overload), not dead
            await set_status(session, message, "error")
            message.error_message = INTERRUPTED
            message.parts = [
                {**p, "state": "done"} if p.get("state") == "streaming" else p for p in message.parts or []
            ]
            message.finished_at = utcnow()
            message.lease_expires_at = None
            chat = await session.get(Chat, message.chat_uuid, with_for_update=True)
            if chat is not None:
                chat.credits_used_count += float((message.usage or {}).get("creditsUsedCount", 0.0))
                if chat.active_stream_uuid == message.uuid:
                    chat.active_stream_uuid = None
            reaped.append((message.uuid, message.usage))
    for message_uuid, usage in reaped:
        log.warning("message %s: lease expired, marked interrupted", message_uuid)
        if await state.broker.exists(str(message_uuid)):
            publisher = StreamPublisher(state.broker, str(message_uuid), state.settings.ai_sdk_version)
            await publisher.emit_dict({"type": "error", "errorText": INTERRUPTED})
            await publisher.emit_dict(
                {
                    "type": "finish",
                    "finishReason": "error",
                    "messageMetadata": {"usage": usage, "finishReason": "error"},
                }
            )
            await publisher.close()
    return [u for u, _ in reaped]


async def reaper_loop(state: AppState) -> None:
    while True:
        try:
            await reap_once(state)
        except Exception:
            log.exception("lease reaper pass failed")
        await asyncio.sleep(state.settings.reaper_interval_seconds)
