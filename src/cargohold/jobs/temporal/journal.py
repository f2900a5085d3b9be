"""The step journal of a durable turn (table `turn_steps`): what a worker completed, written before
the step's effect goes on, so a worker that takes the turn over replays it instead of repeating it.

    response/<i>   the i-th model response (pydantic-ai's ModelMessage JSON)
    tool/<id>      a completed tool call's result (JSON), by tool call id
    boundary/<i>   the stream's cursor when model request i began (the stream is cut back to it)
    lost/<n>       the usage of a model call cut off when attempt n took over (spent, never replayed)
    subagent/<k>   a sub-agent call's request (agent, prompt, chain), under the child's prefix `k`
    answer/<k>     that sub-agent's answer (text or error, and its usage), written by the child
    owner/<prefix> the attempt that owns the journal at that prefix ("" for the turn's): the fence
    cancel/        a cancel was asked (written by the API, `store/messages.remember_cancel`): an
                   attempt that starts after the broker forgot the signal still cancels the turn

The fence: an attempt takes its journal (`take_journal`: the turn's in the same transaction that
claims the message, under its row lock) before it reads it, and every write of that attempt checks,
in its own transaction with the owner row locked for share, that it still owns it (`TurnTaken`
otherwise). So a worker Temporal took for dead while it still runs (CPU-starved, paused) cannot add
a step after its successor has read the journal: the successor sees every step the old attempt
wrote, and nothing the old attempt does afterwards lands in the journal or finishes the message.

A sub-agent's turn (a child workflow, `children.py`) keeps its own journal in the same rows, its
keys under a prefix: `@<tool call id>/` for a child of the turn, `@<id>/@<id>/` for a grandchild;
a background tool run's children go under `~<run uuid>/` (they may outlive the turn, so the turn's
`clear` leaves them). A journal reads only its own keys, and the answers of its direct children.

Rows are small (one step each) and activities and workflows carry only uuids and these keys, so no
Temporal payload comes near its 2 MB limit: everything goes by reference to this table."""

from __future__ import annotations

import uuid
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from pydantic_ai.messages import ModelMessagesTypeAdapter, ModelResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ...db.engine import SessionFactory
from ...db.tables import Message, TurnStep
from ...runtime.credits import UsageRecord

__all__ = ["OWNER", "StepJournal", "TurnTaken", "get_step", "holds_journal", "put_step", "take_journal"]

OWNER = "owner"


class TurnTaken(Exception):
    """Another attempt owns this journal now (Temporal gave the turn to another worker)."""


@dataclass(slots=True)
class StepJournal:
    sessions: SessionFactory
    message_uuid: uuid.UUID
    prefix: str = ""
    """Whose journal: "" for the turn, a child's prefix for a sub-agent's turn (see above)."""
    owner: str | None = None
    """The attempt writing it (`take_journal`); every write checks it still owns the journal.
    None: writes unchecked (a caller that is not an attempt of this journal)."""
    responses: dict[int, ModelResponse] = field(default_factory=dict)
    tools: dict[str, Any] = field(default_factory=dict)
    boundaries: dict[int, str] = field(default_factory=dict)
    lost: list[UsageRecord] = field(default_factory=list)
    request: dict[str, Any] | None = None
    """A sub-agent's journal: what it was asked (`subagent` row at its prefix)."""
    answer: dict[str, Any] | None = None
    """A sub-agent's journal: its answer, once written."""
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The answers of this journal's direct children, by child prefix."""
    cancel_requested: bool = False
    """The turn's journal: a cancel was asked for the message."""

    @classmethod
    async def load(
        cls, sessions: SessionFactory, message_uuid: uuid.UUID, prefix: str = "", *, owner: str | None = None
    ) -> StepJournal:
        """Read the journal at `prefix` (an attempt: after `take_journal`, so no earlier attempt
        can add to it afterwards)."""
        journal = cls(sessions, message_uuid, prefix, owner)
        query = sa.select(TurnStep).where(TurnStep.message_uuid == message_uuid)
        if prefix:
            query = query.where(TurnStep.key.startswith(prefix, autoescape=True))
        async with sessions() as session:
            for row in (await session.execute(query)).scalars():
                key = row.key[len(prefix) :]
                if key.startswith(("@", "~")):
                    if row.kind == "answer" and key.startswith("@") and key.find("/") == len(key) - 1:
                        journal.answers[row.key] = row.value
                    continue
                match row.kind:
                    case "response":
                        journal.responses[int(key)] = _response(row.value)
                    case "tool":
                        journal.tools[key] = row.value["result"]
                    case "boundary":
                        journal.boundaries[int(key)] = row.value["cursor"]
                    case "lost":
                        journal.lost.append(UsageRecord.of_stored(row.value))
                    case "subagent":
                        journal.request = row.value
                    case "answer":
                        journal.answer = row.value
                    case "cancel":
                        journal.cancel_requested = True
        return journal

    @property
    def resume_at(self) -> int | None:
        """The model request the last worker had begun (its step is cut back and redone)."""
        return max(self.boundaries) if self.boundaries else None

    async def record_response(self, index: int, response: ModelResponse) -> None:
        self.responses[index] = response
        await self._put("response", str(index), ModelMessagesTypeAdapter.dump_python([response], mode="json")[0])

    async def record_tool(self, tool_call_id: str, result: Any) -> None:
        self.tools[tool_call_id] = result
        await self._put("tool", tool_call_id, {"result": result})

    async def record_boundary(self, index: int, cursor: str) -> None:
        self.boundaries[index] = cursor
        await self._put("boundary", str(index), {"cursor": cursor})

    async def record_lost(self, attempt: int, usage: UsageRecord) -> None:
        self.lost.append(usage)
        await self._put("lost", str(attempt), usage.wire())

    async def record_answer(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        await self._put("answer", "", answer)

    async def clear(self) -> None:
        """The turn's journal with its children's (not its background runs'), or a background
        run's journal with its children's. An attempt's journal only while it owns it: one taken
        over but still running must not clear its successor's journal when it stops."""
        key = TurnStep.key
        mine = key.startswith(self.prefix, autoescape=True) if self.prefix else ~key.startswith("~")
        async with self.sessions() as session, session.begin():
            if not await self.holds(session):
                return
            await session.execute(sa.delete(TurnStep).where(TurnStep.message_uuid == self.message_uuid, mine))

    async def holds(self, session: AsyncSession, *, for_update: bool = False) -> bool:
        """In the caller's transaction: does this attempt still own the journal? (`holds_journal`)"""
        if self.owner is None:
            return True
        return await holds_journal(session, self.message_uuid, self.prefix, self.owner, for_update=for_update)

    async def _put(self, kind: str, key: str, value: Any) -> None:
        await put_step(self.sessions, self.message_uuid, kind, self.prefix + key, value, fence=self)


async def take_journal(session: AsyncSession, message_uuid: uuid.UUID, prefix: str, owner: str) -> bool:
    """In the caller's transaction: `owner` (an attempt) owns the journal at `prefix` from now on,
    and the attempt that owned it can write no more (`put_step` checks). The message's row is
    locked for update first (claim_turn holds it already): the order every fence check takes.
    False when the message is gone."""
    if await session.get(Message, message_uuid, with_for_update=True, populate_existing=True) is None:
        return False
    row = await session.get(TurnStep, (message_uuid, OWNER, prefix), populate_existing=True)
    if row is None:
        session.add(TurnStep(message_uuid=message_uuid, kind=OWNER, key=prefix, value={"owner": owner}))
    else:
        row.value = {"owner": owner}
    await session.flush()
    return True


async def holds_journal(
    session: AsyncSession, message_uuid: uuid.UUID, prefix: str, owner: str, *, for_update: bool = False
) -> bool:
    """In the caller's transaction: does `owner` still own the journal at `prefix`? The message's
    row is locked first, as `take_journal` does (no deadlock between them): for key share (a
    journal write; writes do not wait for each other, an attempt taking the journal waits for them
    to commit) or for update (a finish, which updates the row next). Until the transaction ends
    no other attempt can take the journal."""
    lock: Any = True if for_update else {"read": True, "key_share": True}
    if await session.get(Message, message_uuid, with_for_update=lock, populate_existing=True) is None:
        return False
    row = await session.get(TurnStep, (message_uuid, OWNER, prefix), populate_existing=True)
    return row is not None and isinstance(row.value, dict) and row.value.get("owner") == owner


async def put_step(
    sessions: SessionFactory,
    message_uuid: uuid.UUID,
    kind: str,
    key: str,
    value: Any,
    *,
    fence: StepJournal | None = None,
) -> None:
    """Write one row of a journal (its full key); a step recorded twice keeps the first record.
    With `fence`, only while that journal's attempt owns it (`TurnTaken` otherwise)."""
    with suppress(IntegrityError):
        async with sessions() as session, session.begin():
            if fence is not None and not await fence.holds(session):
                raise TurnTaken(f"turn {message_uuid}: another attempt owns its journal now")
            if await session.get(TurnStep, (message_uuid, kind, key)) is None:
                session.add(TurnStep(message_uuid=message_uuid, kind=kind, key=key, value=value))


async def get_step(sessions: SessionFactory, message_uuid: uuid.UUID, kind: str, key: str) -> Any:
    async with sessions() as session:
        row = await session.get(TurnStep, (message_uuid, kind, key))
        return None if row is None else row.value


def _response(value: Any) -> ModelResponse:
    message = ModelMessagesTypeAdapter.validate_python([value])[0]
    assert isinstance(message, ModelResponse)
    return message
