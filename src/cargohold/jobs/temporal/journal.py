"""The step journal of a durable turn (table `turn_steps`): what a worker completed, written before
the step's effect goes on, so a worker that takes the turn over replays it instead of repeating it.

    response/<i>   the i-th model response (pydantic-ai's ModelMessage JSON)
    tool/<id>      a completed tool call's result (JSON), by tool call id
    boundary/<i>   the stream's cursor when model request i began (the stream is cut back to it)
    lost/<n>       the usage of a model call cut off when attempt n took over (spent, never replayed)

Rows are small (one step each) and the activity carries only the message uuid, so no Temporal
payload comes near its 2 MB limit: everything goes by reference to this table."""

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

__all__ = ["StepJournal"]


@dataclass(slots=True)
class StepJournal:
    sessions: SessionFactory
    message_uuid: uuid.UUID
    responses: dict[int, ModelResponse] = field(default_factory=dict)
    tools: dict[str, Any] = field(default_factory=dict)
    boundaries: dict[int, str] = field(default_factory=dict)
    lost: list[UsageRecord] = field(default_factory=list)

    @classmethod
    async def load(cls, sessions: SessionFactory, message_uuid: uuid.UUID) -> StepJournal:
        journal = cls(sessions, message_uuid)
        async with sessions() as session:
            rows = (await session.execute(sa.select(TurnStep).where(TurnStep.message_uuid == message_uuid))).scalars()
            for row in rows:
                match row.kind:
                    case "response":
                        journal.responses[int(row.key)] = _response(row.value)
                    case "tool":
                        journal.tools[row.key] = row.value["result"]
                    case "boundary":
                        journal.boundaries[int(row.key)] = row.value["cursor"]
                    case "lost":
                        journal.lost.append(UsageRecord.of_stored(row.value))
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

    async def clear(self) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(sa.delete(TurnStep).where(TurnStep.message_uuid == self.message_uuid))

    async def _put(self, kind: str, key: str, value: Any) -> None:
        # A step recorded twice (a stalled worker and its successor) keeps the first record.
        with suppress(IntegrityError):
            async with self.sessions() as session, session.begin():
                if await session.get(TurnStep, (self.message_uuid, kind, key)) is None:
                    session.add(TurnStep(message_uuid=self.message_uuid, kind=kind, key=key, value=value))


def _response(value: Any) -> ModelResponse:
    message = ModelMessagesTypeAdapter.validate_python([value])[0]
    assert isinstance(message, ModelResponse)
    return message
