"""The fence of a durable turn (jobs/temporal/journal.py), without a Temporal server: when
Temporal gives a turn to a second attempt while the first still runs (its worker was CPU-starved
past the heartbeat timeout, or paused), the first can no longer journal a step, renew the turn's
lease and parts, or finish the message; the second reads every step the first wrote before it
took over. The database's side only: the drills show the same over real workers."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from pydantic_ai.messages import ModelResponse, TextPart
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.db.tables import Message, TurnStep
from cargohold.jobs.temporal.activities import claim_turn
from cargohold.jobs.temporal.journal import StepJournal, TurnTaken
from cargohold.services.finish import Ending, finish_message

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, stream_body, stream_turn


async def pending_message(server: Server, tenant: Tenant, llm: FakeLLM) -> uuid.UUID:
    """An assistant message as the Temporal executor stores it: `pending`, no workflow yet."""
    llm.script(Reply(text="hello"))
    _, chunks = await stream_turn(tenant.client, stream_body())
    message_uuid = uuid.UUID(chunks[0]["messageId"])
    async with server.state.sessions() as session, session.begin():
        await session.execute(
            sa.update(Message)
            .where(Message.uuid == message_uuid)
            .values(status="pending", finished_at=None, temporal_workflow_id=None)
        )
    return message_uuid


def response(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(text)])


async def status_of(server: Server, message_uuid: uuid.UUID) -> str:
    async with server.state.sessions() as session:
        message = await session.get(Message, message_uuid)
        assert message is not None
        return message.status


async def test_a_superseded_attempt_writes_nothing(server: Server, tenant: Tenant, llm: FakeLLM) -> None:
    message_uuid = await pending_message(server, tenant, llm)
    deps, sessions = server.state.turn_deps(), server.state.sessions
    workflow = f"turn-{message_uuid}"

    assert await claim_turn(deps, message_uuid, workflow, "run/1") is not None
    first = await StepJournal.load(sessions, message_uuid, owner="run/1")
    await first.record_boundary(-1, "1-0")
    await first.record_boundary(0, "2-0")
    await first.record_response(0, response("first answer"))
    await first.record_tool("call-1", {"outcome": "executed", "data": 1})
    await first.record_boundary(1, "3-0")

    # Temporal retries the activity while the first attempt still runs: the second takes the turn.
    assert await claim_turn(deps, message_uuid, workflow, "run/2") is not None
    second = await StepJournal.load(sessions, message_uuid, owner="run/2")
    assert second.resume_at == 1 and set(second.boundaries) == {-1, 0, 1}
    assert second.responses[0].parts == [TextPart("first answer")] and second.tools == {"call-1": first.tools["call-1"]}

    # The first attempt goes on (it does not know yet): none of its writes lands.
    with pytest.raises(TurnTaken):
        await first.record_response(1, response("the zombie's answer"))
    with pytest.raises(TurnTaken):
        await first.record_tool("call-2", {"outcome": "executed", "data": 2})
    with pytest.raises(TurnTaken):
        await first.record_boundary(2, "4-0")
    async with sessions() as session:
        keys = {
            (kind, key)
            for kind, key in await session.execute(
                sa.select(TurnStep.kind, TurnStep.key).where(TurnStep.message_uuid == message_uuid)
            )
        }
    assert ("response", "1") not in keys and ("tool", "call-2") not in keys and ("boundary", "2") not in keys
    async with sessions() as session:
        assert not await first.holds(session) and await second.holds(session)
    await first.clear()  # as it does when it stops: the successor's journal stays
    assert (await StepJournal.load(sessions, message_uuid)).boundaries == second.boundaries

    # Nor does its finish: the row stays the second attempt's to finish.
    done = Ending("success", "stop", parts=[{"type": "text", "text": "zombie", "state": "done"}])

    async def first_fence(session: AsyncSession) -> bool:
        return await first.holds(session, for_update=True)

    async def second_fence(session: AsyncSession) -> bool:
        return await second.holds(session, for_update=True)

    assert not await finish_message(sessions, None, message_uuid, done, fence=first_fence)
    assert await status_of(server, message_uuid) == "generating"

    # The second attempt journals and finishes as any attempt does.
    await second.record_response(1, response("the answer"))
    again = await StepJournal.load(sessions, message_uuid)
    assert again.responses[1].parts == [TextPart("the answer")]
    ending = Ending("success", "stop", parts=[{"type": "text", "text": "the answer", "state": "done"}])
    assert await finish_message(sessions, None, message_uuid, ending, fence=second_fence)
    assert await status_of(server, message_uuid) == "success"
    # Another workflow never takes a turn that is not pending; a finished one is taken by none.
    assert await claim_turn(deps, message_uuid, workflow, "run/3") is None


async def test_only_its_own_workflow_takes_a_turn_back(server: Server, tenant: Tenant, llm: FakeLLM) -> None:
    message_uuid = await pending_message(server, tenant, llm)
    deps = server.state.turn_deps()
    assert await claim_turn(deps, message_uuid, f"turn-{message_uuid}", "run/1") is not None
    assert await claim_turn(deps, message_uuid, "turn-someone-else", "run/1") is None
    journal = await StepJournal.load(server.state.sessions, message_uuid, owner="run/1")
    await journal.record_boundary(0, "1-0")  # still its owner
    assert journal.boundaries == {0: "1-0"}


async def test_cancel_of_a_turn_no_worker_has_claimed(server: Server, tenant: Tenant, llm: FakeLLM) -> None:
    """A `pending` message (its workflow not picked up yet) is finished `cancelled` by the cancel
    itself, in the database: the workflow that starts later finds it finished and runs nothing."""
    message_uuid = await pending_message(server, tenant, llm)
    response = await tenant.client.post("/v1/ai/messages/cancel", json={"uuids": [str(message_uuid)]})
    assert response.status_code == 200, response.text
    message = (await tenant.client.get(f"/v1/ai/messages/{message_uuid}")).json()["message"]
    assert message["status"] == "cancelled" and message["meta"]["finishReason"] == "cancelled"
    assert await claim_turn(server.state.turn_deps(), message_uuid, f"turn-{message_uuid}", "run/1") is None


async def test_cancel_of_a_running_durable_turn_is_kept(server: Server, tenant: Tenant, llm: FakeLLM) -> None:
    """A durable turn's cancel is kept in the database too: an attempt that takes the turn over
    after the broker forgot the signal (stream_retention_seconds) still sees it."""
    message_uuid = await pending_message(server, tenant, llm)
    deps = server.state.turn_deps()
    assert await claim_turn(deps, message_uuid, f"turn-{message_uuid}", "run/1") is not None
    assert not (await StepJournal.load(server.state.sessions, message_uuid)).cancel_requested
    response = await tenant.client.post("/v1/ai/messages/cancel", json={"uuids": [str(message_uuid)]})
    assert response.status_code == 200, response.text
    assert await status_of(server, message_uuid) == "generating"  # a run owns it: it ends it
    assert await claim_turn(deps, message_uuid, f"turn-{message_uuid}", "run/2") is not None
    assert (await StepJournal.load(server.state.sessions, message_uuid, owner="run/2")).cancel_requested
