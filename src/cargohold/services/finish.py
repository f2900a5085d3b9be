"""Finish a message: the one function that ends a turn, whoever ends it (the run itself, a
cancel, a shutdown, or the lease reaper for a run whose process died).

It stores, in one transaction of two statements, the status, error, parts (nothing left open:
`close_parts`), usage, evaluated tools and meta of the message, adds its credits to the chat,
clears the chat's `activeStreamUuid` and `lastMessageStatus`; only a message still unfinished is
touched, so a message is finished exactly once. Then the stream gets its `error` (when the turn
failed and none was streamed), `finish` with Cargo's usage as `messageMetadata`, and `[DONE]`.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import SessionFactory
from ..db.tables import Chat, Message
from ..db.types import utcnow
from ..runtime.credits import CREDITS_DECIMALS, UsageRecord
from ..store.messages import UNFINISHED
from ..stream.publisher import StreamPublisher
from ..stream.writer import CANCELLED_TOOL_CALL

__all__ = ["INTERRUPTED", "INTERRUPTED_TOOL_CALL", "Ending", "close_parts", "finish_message"]

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the server running this turn stopped before it finished"
INTERRUPTED_TOOL_CALL = "The tool call was interrupted before it returned a result."
_TERMINAL_TOOL_STATES = frozenset({"output-available", "output-error", "output-denied"})
_SDK_FINISH_REASONS = frozenset({"stop", "length", "content-filter", "tool-calls", "error", "other"})


@dataclass(slots=True)
class Ending:
    status: Literal["success", "error", "cancelled"]
    finish_reason: str
    """`stop`, `tool-calls`, `length`, ..., `max-steps` (the step bound cut the tool loop),
    `cancelled` or `error`."""
    error_message: str | None = None
    parts: list[dict[str, Any]] = field(default_factory=list)
    usage: UsageRecord = field(default_factory=UsageRecord)
    evaluated_tools: dict[str, Any] | None = None
    """None keeps what the row holds."""
    meta: dict[str, Any] = field(default_factory=dict)
    error_streamed: bool = False
    """The stream already holds an `error` chunk for this failure."""
    suggested_actions: list[dict[str, Any]] | None = None
    """Follow-ups `{text, actions: [{slug}]}` for the `finish` metadata and the message; None keeps
    what the row holds (a release's static ones)."""


def close_parts(parts: list[dict[str, Any]], status: str) -> list[dict[str, Any]]:
    """The parts as stored when a turn ends, however it ends: no text or reasoning left
    `streaming`, no tool call left without a result (a cut-off call is an `output-error`)."""
    closed: list[dict[str, Any]] = []
    for part in parts:
        kind = part.get("type")
        if not isinstance(kind, str):
            closed.append(part)
            continue
        if kind in ("text", "reasoning") and part.get("state") == "streaming":
            part = {**part, "state": "done"}
        elif (kind.startswith("tool-") or kind == "dynamic-tool") and part.get("state") not in _TERMINAL_TOOL_STATES:
            if part.get("state") in ("approval-requested", "approval-responded"):
                closed.append(part)
                continue
            text = CANCELLED_TOOL_CALL if status == "cancelled" else INTERRUPTED_TOOL_CALL
            part = {**part, "state": "output-error", "errorText": text}
            part.pop("output", None)
        closed.append(part)
    return closed


def finish_chunk(
    usage: dict[str, Any], finish_reason: str, suggested_actions: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"usage": usage, "finishReason": finish_reason}
    if suggested_actions:
        metadata["suggestedActions"] = suggested_actions
    chunk: dict[str, Any] = {"type": "finish", "messageMetadata": metadata}
    # The AI SDK knows no `max-steps` or `cancelled`; the metadata keeps cargohold's own reason.
    chunk["finishReason"] = finish_reason if finish_reason in _SDK_FINISH_REASONS else "other"
    return chunk


# The two statements are built once (per set of columns), not per turn: building an UPDATE and its
# cache key costs more than running it. They are Core statements on the tables: the ORM's UPDATE
# adds its session synchronisation, and the finishing session holds no object to synchronise.
_MESSAGES, _CHATS = cast(sa.Table, Message.__table__), cast(sa.Table, Chat.__table__)


@functools.cache
def _finish_statement(columns: tuple[str, ...], lease: bool) -> sa.Update:
    """UPDATE of an unfinished message (and, for the reaper, one whose lease expired before
    `:lease_expired_before`) setting `columns` from `:set_<column>`, returning its chat."""
    where = [_MESSAGES.c.uuid == sa.bindparam("message_uuid"), _MESSAGES.c.status.in_(UNFINISHED)]
    if lease:
        where.append(_MESSAGES.c.lease_expires_at < sa.bindparam("lease_expired_before"))
    sets = {name: sa.bindparam(f"set_{name}", type_=_MESSAGES.c[name].type) for name in columns}
    return sa.update(_MESSAGES).where(*where).values(sets).returning(_MESSAGES.c.chat_uuid)


_CHAT_TOTALS = (
    sa.update(_CHATS)
    .where(_CHATS.c.uuid == sa.bindparam("chat_uuid"))
    .values(
        # Summed as a decimal of CREDITS_DECIMALS places: no float noise builds up.
        credits_used_count=sa.func.round(
            sa.cast(_CHATS.c.credits_used_count + sa.bindparam("credits", type_=sa.Float), sa.Numeric(30, 10)),
            CREDITS_DECIMALS,
        ),
        active_stream_uuid=sa.case(
            (_CHATS.c.active_stream_uuid == sa.bindparam("message_uuid"), None), else_=_CHATS.c.active_stream_uuid
        ),
        last_message_status=sa.case(
            (_CHATS.c.last_message_uuid == sa.bindparam("message_uuid"), sa.bindparam("status", type_=sa.String)),
            else_=_CHATS.c.last_message_status,
        ),
    )
)
"""The chat's credits, `activeStreamUuid` and `lastMessageStatus` after its message `:message_uuid`
is finished with `:status`."""


async def finish_message(
    sessions: SessionFactory,
    publisher: StreamPublisher | None,
    message_uuid: uuid.UUID,
    ending: Ending,
    *,
    lease_expired_before: datetime | None = None,
    fence: Callable[[AsyncSession], Awaitable[bool]] | None = None,
) -> bool:
    """Finish the message if it is still unfinished (and, for the reaper, its lease still expired
    before `lease_expired_before`); True when this call finished it. The stream is ended either way
    (a publisher of a stream already ended does nothing), unless `fence` (checked in the finishing
    transaction: a durable turn's attempt that may have been superseded) says the caller no longer
    owns the turn: then nothing is written at all."""
    if publisher is not None and ending.status == "error" and not ending.error_streamed:
        with suppress(Exception):  # a broker failure must not keep the row from being finished
            await publisher.emit_dict({"type": "error", "errorText": ending.error_message or "error"})
    parts = close_parts(ending.parts, ending.status)
    credits = ending.usage.credits_used_count
    usage = ending.usage.wire()
    values: dict[str, Any] = {
        "status": ending.status,
        "error_message": ending.error_message,
        "parts": parts,
        "usage": usage,
        "meta": {**ending.meta, "finishReason": ending.finish_reason},
        "finished_at": utcnow(),
        "lease_expires_at": None,
    }
    if ending.evaluated_tools is not None:
        values["evaluated_tools"] = ending.evaluated_tools
    if ending.suggested_actions is not None:
        values["suggested_actions"] = ending.suggested_actions
    params = {f"set_{name}": value for name, value in values.items()}
    params |= {"message_uuid": message_uuid, "lease_expired_before": lease_expired_before}
    finished = refused = False
    try:
        async with sessions() as session, session.begin():
            if fence is not None and not await fence(session):
                refused = True
                return False
            finish = _finish_statement(tuple(values), lease_expired_before is not None)
            chat_uuid = (await session.execute(finish, params)).scalar_one_or_none()
            if chat_uuid is not None:
                finished = True
                chat_params = {"chat_uuid": chat_uuid, "message_uuid": message_uuid, "credits": credits}
                await session.execute(_CHAT_TOTALS, chat_params | {"status": ending.status})
    finally:
        if publisher is not None and not refused:
            with suppress(Exception):
                await publisher.emit_dict(finish_chunk(usage, ending.finish_reason, ending.suggested_actions))
            try:
                await publisher.close()
            except Exception:  # the row is finished; a reader of this stream ends when it expires
                log.exception("stream of %s could not be closed", message_uuid)
    return finished
