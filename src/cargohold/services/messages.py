"""Message use cases: start a turn (stored, then run in the background), read, delete, cancel."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Chat, Message, Release
from ..db.types import utcnow
from ..errors import (
    BadRequest,
    ChatNotFound,
    DraftReleaseNotFound,
    LastMessageNotFinished,
    MessageAlreadyExists,
    MessageNotFound,
    MessageNotUser,
    ReleaseNotFound,
)
from ..files.attachments import Attachments, has_file_parts, prepare_attachments
from ..runtime.capabilities.search_providers import native_search_problem
from ..runtime.turn_config import TurnConfig
from ..schemas.messages import MessageCreate, MessageStream
from ..schemas.parts import PartError, check_parts
from ..state import AppState
from ..store import chats as chat_store
from ..store import messages as message_store
from ..store import releases as release_store
from ..store.messages import lease_until
from ..store.workspaces import Principal
from ..stream.publisher import StreamPublisher
from .agents import require_agent
from .config import (
    check_actions,
    check_capabilities,
    check_mcp_clients,
    check_resources,
    check_tool_names,
    refuse_unsupported,
)
from .connectors import turn_choice
from .finish import Ending, finish_message
from .ports import PreparedTurn
from .releases import named_release

__all__ = ["cancel_messages", "delete_message", "read_message", "start_turn"]


def _refuse_unsupported(body: MessageStream | MessageCreate) -> None:
    extra: dict[str, Any] = {}
    if isinstance(body, MessageCreate):
        extra = {"skillUuids": body.skill_uuids, "output": body.output}
    refuse_unsupported(**extra)


async def _resolve_release(
    session: AsyncSession,
    who: Principal,
    agent_uuid: uuid.UUID | None,
    release_uuid: uuid.UUID | None,
    trigger_type: str,
) -> Release | None:
    """The release a turn runs on: the one named, else the agent's draft in a `draft` chat, else its
    deployed release. None when the turn has no agent."""
    if release_uuid is not None:
        return await named_release(session, who, release_uuid, agent_uuid)
    if agent_uuid is None:
        return None
    await require_agent(session, who, agent_uuid)
    if trigger_type == "draft":
        release = await release_store.release_of_status(session, who.workspace_uuid, agent_uuid, "draft")
        if release is None:
            raise DraftReleaseNotFound()
        return release
    release = await release_store.release_of_status(session, who.workspace_uuid, agent_uuid, "deployed")
    if release is None:
        raise ReleaseNotFound(
            f"Agent {agent_uuid} has no deployed release: deploy its draft, or use a chat with the `draft` trigger"
        )
    return release


async def _effective_config(
    state: AppState, session: AsyncSession, who: Principal, body: MessageStream | MessageCreate, release: Release | None
) -> TurnConfig:
    """Each field of the request over the release's; checked as a whole before anything is stored."""

    def pick(name: str, value: Any) -> Any:
        return value if value is not None else (getattr(release, name) if release is not None else None)

    integration, model, connector = body.integration_slug, body.language_model_slug, body.connector_uuid
    if integration is None and model is None and release is not None:
        integration, model = release.integration_slug, release.language_model_slug
        connector = connector or release.connector_uuid
    choice = await turn_choice(state, session, who.workspace_uuid, integration, model, connector, limiter=state.limiter)
    max_steps = pick("max_steps", body.max_steps)
    if max_steps is not None and max_steps > state.settings.max_steps_limit:
        raise BadRequest(f"maxSteps must be at most {state.settings.max_steps_limit}")
    config = TurnConfig(
        actions=await check_actions(
            state,
            session,
            who.workspace_uuid,
            pick("actions", body.effective_actions),
            bind=body.effective_actions is not None,
        ),
        mcp_clients=await check_mcp_clients(
            state, session, who.workspace_uuid, pick("mcp_clients", body.mcp_clients), bind=body.mcp_clients is not None
        ),
        resources=await check_resources(
            state, session, who.workspace_uuid, pick("resources", body.resources), bind=body.resources is not None
        ),
        capabilities=check_capabilities(pick("capabilities", body.capabilities), state.settings),
        system_prompt=pick("system_prompt", body.system_prompt),
        context_prompt=body.context_prompt,
        with_reasoning=bool(pick("with_reasoning", body.with_reasoning)),
        temperature=pick("temperature", body.temperature),
        max_steps=max_steps,
        integration_slug=choice.integration,
        language_model_slug=choice.slug,
        connector_uuid=choice.connector_uuid,
        suggested_actions=list(release.suggested_actions or []) if release is not None else [],
    )
    check_tool_names(config.actions, config.resources, config.capabilities)
    native = state.settings.web_search_provider == "native"
    if native and any(c["slug"] == "webSearch" for c in config.capabilities):  # noqa: SIM102
        if problem := native_search_problem(choice.integration, choice.slug):
            raise BadRequest(problem)
    return config


def _check_parts(state: AppState, parts: list[Any]) -> None:
    settings = state.settings
    try:
        check_parts(
            parts,
            settings.ai_sdk_version,
            max_parts=settings.max_parts_per_message,
            max_text_chars=settings.max_part_text_chars,
        )
    except PartError as exc:
        raise BadRequest(str(exc)) from None


async def start_turn(
    state: AppState, who: Principal, body: MessageStream | MessageCreate, *, create_chat: bool
) -> tuple[Message, Message]:
    """Store the user message and the assistant message, and hand the turn to the executor: one
    that runs it here gets it before the commit, with `PreparedTurn.stored` set once the message is
    stored and its stream opened (cancelled if the commit fails); another gets it after. A chat
    that does not exist is created when `create_chat` (the stream endpoint), else it is a 404.
    Everything is validated first: a refused request writes nothing (one transaction)."""
    _refuse_unsupported(body)
    _check_parts(state, body.parts)
    chat_uuid = body.chat_uuid or uuid.uuid4()
    user_uuid = body.uuid or uuid.uuid4()
    trigger = body.chat_trigger.model_dump(mode="json", by_alias=True) if body.chat_trigger else {"type": "app"}
    executor = state.executor
    history: list[tuple[str, str, Any, str]] = []
    stored: asyncio.Future[None] | None = None
    attachments = Attachments(body.parts)
    if has_file_parts(body.parts):  # files (issue 12): attachments' bytes stored before the transaction
        async with state.reads() as session:
            attachments = await prepare_attachments(state.settings, state.blobs, session, who, body.parts)
        body.parts = attachments.parts
    try:
        async with state.sessions() as session, session.begin():
            # A uuid is a global key: one a client chose may be taken (by it, or by a message it was
            # shown); a server-made one never is.
            if body.uuid is not None and await message_store.message_uuid_taken(session, user_uuid):
                raise MessageAlreadyExists(f"A message with uuid {user_uuid} already exists")
            chat, taken = None, False  # a server-made chat uuid is never taken: nothing to read
            if body.chat_uuid is not None:
                chat, taken = await chat_store.chat_for_turn(session, who.workspace_uuid, chat_uuid)
            if chat is None:
                if body.chat_uuid is not None and not create_chat:
                    raise ChatNotFound()
                if taken:
                    raise ChatNotFound()  # deleted, or another workspace's: not this caller's to use
            else:
                history = await message_store.chat_history(session, chat.uuid)
                if any(status in message_store.UNFINISHED for _, _, _, status in history):
                    raise LastMessageNotFinished()
            agent_uuid = body.agent_uuid or (chat.agent_uuid if chat is not None else None)
            if chat is not None and chat.agent_uuid is not None and agent_uuid != chat.agent_uuid:
                raise BadRequest(f"This chat belongs to agent {chat.agent_uuid}; `agentUuid` cannot change it")
            release = await _resolve_release(
                session,
                who,
                agent_uuid,
                getattr(body, "release_uuid", None),
                chat.trigger_type if chat is not None else trigger["type"],
            )
            if release is not None:
                agent_uuid = release.agent_uuid
            release_uuid = release.uuid if release is not None else None
            config = await _effective_config(state, session, who, body, release)
            chat_is_new = chat is None
            if chat is None:
                chat = chat_store.new_chat(  # written with the messages, with its final values
                    workspace_uuid=who.workspace_uuid,
                    chat_uuid=chat_uuid,
                    trigger=trigger,
                    user_uuid=who.user_uuid,
                    agent_uuid=agent_uuid,
                    release_uuid=release_uuid,
                )
            elif agent_uuid is not None:
                chat.agent_uuid, chat.release_uuid = agent_uuid, release_uuid
            who_and_what = {"user_uuid": who.user_uuid, "agent_uuid": agent_uuid, "release_uuid": release_uuid}
            # Every column of both is set (`new_message`; the user's config columns at their
            # defaults): one INSERT writes both.
            user_message = message_store.new_message(
                chat,
                uuid=user_uuid,
                type="user",
                status="success",
                parts=body.parts,
                finished_at=utcnow(),
                lease_expires_at=None,
                evaluated_tools={},
                **who_and_what,
            )
            assistant = message_store.new_message(
                chat,
                uuid=uuid.uuid4(),
                type="assistant",
                status=executor.initial_status,
                parts=[],
                finished_at=None,
                lease_expires_at=lease_until(state.settings.lease_seconds),
                evaluated_tools={},
                **who_and_what,
                **config.columns(),
            )
            chat.active_stream_uuid = assistant.uuid
            publisher = StreamPublisher(state.broker, str(assistant.uuid), state.settings.ai_sdk_version)
            if executor.initial_status == "generating":
                # Started now, before the INSERTs and the COMMIT: the run builds its agent while they
                # run, and asks the model only once `stored` says the message is stored.
                stored = asyncio.get_running_loop().create_future()
                prepared = PreparedTurn(
                    message_uuid=assistant.uuid,
                    workspace_uuid=who.workspace_uuid,
                    chat_uuid=chat.uuid,
                    user_uuid=who.user_uuid,
                    agent_uuid=agent_uuid,
                    config=config,
                    history=[*((u, t, p) for u, t, p, _ in history), (str(user_uuid), "user", body.parts)],
                    publisher=publisher,
                    stored=stored,
                )
                executor.submit(assistant.uuid, prepared)
            await message_store.insert_turn(session, chat, [user_message, assistant], chat_is_new=chat_is_new)
            attachments.add_rows(session, chat.uuid)  # after the chat: written by the commit's flush
    except IntegrityError as exc:
        # Two sends raced into one chat (same seq) or reused a uuid: the loser writes nothing.
        _not_stored(stored)
        await attachments.discard(state.blobs)
        raise LastMessageNotFinished("Another message was just sent to this chat") from exc
    except BaseException:
        _not_stored(stored)
        await attachments.discard(state.blobs)
        raise
    if attachments.rows:
        state.wake_indexer()
    try:
        await publisher.open()
    except BaseException:
        _not_stored(stored)  # stored, but with no stream: the reaper finishes it, as any run it lost
        raise
    if stored is None:  # an executor that runs the turn elsewhere, from the stored message
        executor.submit(assistant.uuid)
    else:
        stored.set_result(None)
    return user_message, assistant


def _not_stored(stored: asyncio.Future[None] | None) -> None:
    if stored is not None and not stored.done():
        stored.cancel()


async def read_message(state: AppState, who: Principal, message_uuid: uuid.UUID) -> Message:
    async with state.reads() as session:
        message = await message_store.get_message(session, who.workspace_uuid, message_uuid)
        if message is None:
            raise MessageNotFound()
        return message


async def list_messages(
    state: AppState, who: Principal, chat_uuid: uuid.UUID, limit: int, offset: int
) -> list[Message]:
    async with state.reads() as session:
        if await chat_store.get_chat(session, who.workspace_uuid, chat_uuid) is None:
            raise ChatNotFound()
        return await message_store.list_messages(session, who.workspace_uuid, chat_uuid, limit=limit, offset=offset)


async def delete_message(state: AppState, who: Principal, message_uuid: uuid.UUID) -> None:
    async with state.sessions() as session, session.begin():
        message = await message_store.get_message(session, who.workspace_uuid, message_uuid)
        if message is None:
            raise MessageNotFound()
        if message.type != "user":
            raise MessageNotUser()
        message.deleted_at = utcnow()
        chat = await session.get(Chat, message.chat_uuid, with_for_update=True)
        if chat is not None:
            await message_store.refresh_last_message(session, chat)


async def cancel_messages(state: AppState, who: Principal, uuids: list[uuid.UUID]) -> None:
    """Signal each unfinished message's run, wherever it runs. Finished or unknown ones are skipped,
    as Cargo does; another workspace's are unknown.

    A message no run has claimed yet (`pending`: the Temporal executor's, its workflow not started
    or not yet picked up) is finished `cancelled` here and now, in the database, so the workflow
    that picks it up later finds it finished and runs nothing. A durable run's cancel is also kept
    in the database (`remember_cancel`): an attempt that starts after the broker forgot the signal
    (it keeps it `stream_retention_seconds`) still cancels the turn."""
    async with state.reads() as session:
        targets = []
        for message_uuid in dict.fromkeys(uuids):
            message = await message_store.get_message(session, who.workspace_uuid, message_uuid)
            if message is not None and message.status in message_store.UNFINISHED:
                durable = message.status == "pending" or message.temporal_workflow_id is not None
                targets.append((message_uuid, message.status, durable))
    for message_uuid, status, durable in targets:
        if status == "pending" and await _cancel_pending(state, message_uuid):
            continue
        if durable:
            async with state.sessions() as session, session.begin():
                await message_store.remember_cancel(session, message_uuid)
        await state.broker.request_cancel(str(message_uuid))


async def _cancel_pending(state: AppState, message_uuid: uuid.UUID) -> bool:
    """Finish a message no run has claimed as `cancelled`; False when a run claimed it meanwhile."""

    async def pending(session: AsyncSession) -> bool:
        return await message_store.still_pending(session, message_uuid)

    publisher = StreamPublisher(state.broker, str(message_uuid), state.settings.ai_sdk_version)
    ending = Ending("cancelled", "cancelled", meta={"steps": 0})
    return await finish_message(state.sessions, publisher, message_uuid, ending, fence=pending)
