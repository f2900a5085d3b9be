"""The activities of a turn's workflow, run by `cargohold worker`: `run_turn` claims the message
(or takes it over from a worker that died) and runs it as a `DurableTurnRun`; `fail_turn` ends a
turn no worker could finish, the way the lease reaper does in process."""

from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import suppress

from temporalio import activity
from temporalio.client import Client

from ...db.tables import Message
from ...logs import message_uuid_var
from ...runtime.credits import UsageRecord
from ...runtime.turn_config import TurnConfig
from ...services.finish import INTERRUPTED, Ending, finish_message
from ...services.ports import PreparedTurn, TurnDeps
from ...services.turn_tools import NO_AGENT
from ...store.messages import UNFINISHED, history_of, lease_until, set_status
from ...stream.publisher import StreamPublisher
from ...stream.redis import RedisBroker
from .children import Subagents, beat, durable_deps
from .durable import DurableTurnRun, ResumablePublisher, resume
from .journal import StepJournal, take_journal
from .workflows import FAIL_TURN, RUN_TURN

__all__ = ["TurnActivities", "claim_turn"]

log = logging.getLogger(__name__)


async def claim_turn(deps: TurnDeps, message_uuid: uuid.UUID, workflow_id: str, owner: str) -> PreparedTurn | None:
    """Claim a `pending` message for this workflow, or take back a `generating` one this workflow
    already ran (its worker died, or was taken for dead); None when it is finished or another run
    owns it. The attempt `owner` takes the turn's journal in the same transaction, under the
    message's row lock: from here on an earlier attempt can neither journal a step nor finish the
    message (journal.py, the fence)."""
    async with deps.sessions() as session, session.begin():
        message = await session.get(Message, message_uuid, with_for_update=True)
        if message is None or message.status not in UNFINISHED:
            return None
        if message.status != "pending" and message.temporal_workflow_id != workflow_id:
            return None
        await take_journal(session, message.uuid, "", owner)
        history = [(str(m.uuid), m.type, m.parts) for m in await history_of(session, message)]
        if message.status == "pending":
            await set_status(session, message, "generating")
        message.temporal_workflow_id = workflow_id
        message.lease_expires_at = lease_until(deps.settings.lease_seconds)
        return PreparedTurn(
            message_uuid=message.uuid,
            workspace_uuid=message.workspace_uuid,
            chat_uuid=message.chat_uuid,
            user_uuid=message.user_uuid,
            agent_uuid=message.agent_uuid,
            config=TurnConfig.of_row(message),
            history=history,
        )


class TurnActivities:
    def __init__(self, deps: TurnDeps, broker: RedisBroker, client: Client) -> None:
        self.deps = deps
        self.broker = broker
        self.client = client

    @activity.defn(name=RUN_TURN)
    async def run_turn(self, message_uuid: str) -> str:
        info = activity.info()
        message_uuid_var.set(message_uuid)
        owner = f"{info.workflow_run_id}/{info.attempt}"
        turn = await claim_turn(self.deps, uuid.UUID(message_uuid), info.workflow_id or "", owner)
        if turn is None:
            return "skipped"
        log.info("turn %s: attempt %d runs here", message_uuid, info.attempt)
        # The fences before the journal is read: the database's (claim_turn), then the stream's.
        await self.broker.take_stream(message_uuid, owner)
        journal = await StepJournal.load(self.deps.sessions, turn.message_uuid, owner=owner)
        if journal.cancel_requested:  # asked before this attempt began (maybe longer ago than the broker keeps it)
            await self.broker.request_cancel(message_uuid)
        heartbeat = asyncio.create_task(beat(info.heartbeat_timeout.total_seconds() if info.heartbeat_timeout else 30))
        try:
            sdk = self.deps.settings.ai_sdk_version
            publisher = turn.publisher = ResumablePublisher(self.broker, message_uuid, sdk, owner)
            workflow_id = info.workflow_id or ""
            deps = durable_deps(self.deps, self.client, workflow_id, (turn.agent_uuid or NO_AGENT,))
            run = DurableTurnRun(deps, self.broker, turn.message_uuid, turn)
            run.steps = await resume(
                self.broker, publisher, journal, info.attempt, turn.config.language_model_slug, run
            )
            children = Subagents(self.client, self.deps.settings, turn.message_uuid, "", workflow_id)
            children.count_answers(journal, run.sub_usage)
            run.ask_agent = children.ask  # an agent action's turn is a child workflow
            await run.run()
        finally:
            heartbeat.cancel()
        with suppress(Exception):  # the turn is finished; a journal left behind only takes room
            await journal.clear()
        return "finished"

    @activity.defn(name=FAIL_TURN)
    async def fail_turn(self, message_uuid: str) -> str:
        """No worker could finish the turn: `error` (interrupted), with the parts last saved."""
        async with self.deps.sessions() as session:
            message = await session.get(Message, uuid.UUID(message_uuid))
            if message is None or message.status not in UNFINISHED:
                return "finished"
            usage = UsageRecord.of_stored(message.usage)
            ending = Ending(
                "error",
                "error",
                INTERRUPTED,
                parts=list(message.parts or []),
                usage=usage,
                meta={**(message.meta or {}), "steps": usage.requests_count},
            )
        publisher = None
        if await self.broker.exists(message_uuid):
            publisher = StreamPublisher(self.broker, message_uuid, self.deps.settings.ai_sdk_version)
        await finish_message(self.deps.sessions, publisher, uuid.UUID(message_uuid), ending)
        with suppress(Exception):
            await StepJournal(self.deps.sessions, uuid.UUID(message_uuid)).clear()
        return "failed"
