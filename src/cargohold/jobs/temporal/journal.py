"""The step journal of a durable turn (table `turn_steps`): what a worker completed, written before
the step's effect goes on, so a worker that takes the turn over replays it instead of repeating it.

    response/<i>   the i-th model response (pydantic-ai's ModelMessage JSON)
    tool/<id>      a completed tool call's result (JSON), by tool call id
    boundary/<i>   the stream's cursor when model request i began (the stream is cut back to it)
    lost/<n>       the usage of a model call cut off when attempt n took over (spent, never replayed)
    subagent/<k>   a sub-agent call's request (agent, prompt, chain), under the child's prefix `k`
    answer/<k>     that sub-agent's answer (text or error, and its usage), written by the child

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

from ...db.engine import SessionFactory
from ...db.tables import TurnStep
from ...runtime.credits import UsageRecord

__all__ = ["StepJournal", "get_step", "put_step"]


@dataclass(slots=True)
class StepJournal:
    sessions: SessionFactory
    message_uuid: uuid.UUID
    prefix: str = ""
    """Whose journal: "" for the turn, a child's prefix for a sub-agent's turn (see above)."""
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

    @classmethod
    async def load(cls, sessions: SessionFactory, message_uuid: uuid.UUID, prefix: str = "") -> StepJournal:
        journal = cls(sessions, message_uuid, prefix)
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
        run's journal with its children's."""
        key = TurnStep.key
        mine = key.startswith(self.prefix, autoescape=True) if self.prefix else ~key.startswith("~")
        async with self.sessions() as session, session.begin():
            await session.execute(sa.delete(TurnStep).where(TurnStep.message_uuid == self.message_uuid, mine))

    async def _put(self, kind: str, key: str, value: Any) -> None:
        await put_step(self.sessions, self.message_uuid, kind, self.prefix + key, value)


async def put_step(sessions: SessionFactory, message_uuid: uuid.UUID, kind: str, key: str, value: Any) -> None:
    """Write one row of a journal (its full key); a step recorded twice (a stalled worker and its
    successor) keeps the first record."""
    with suppress(IntegrityError):
        async with sessions() as session, session.begin():
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
