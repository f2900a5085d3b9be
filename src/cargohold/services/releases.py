"""Release use cases: read, edit the draft, deploy it.

Deploying freezes the draft as `deployed` (with a version and description), archives the release
deployed before it, points the agent at it, and opens a new draft (a copy, whose `parentUuid` is
the deployed release). All in one transaction: a refused deploy changes nothing.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Release
from ..db.types import utcnow
from ..errors import (
    BadRequest,
    DraftReleaseNotFound,
    InvalidParent,
    InvalidReleaseVersion,
    ReleaseNotFound,
)
from ..schemas.mcp_clients import restore_redacted
from ..schemas.releases import ReleaseConfigIn, ReleaseDeploy, ReleaseDraftUpdate
from ..schemas.secrets import restore_actions
from ..state import AppState
from ..store import releases as release_store
from ..store.workspaces import Principal
from .agents import require_agent
from .config import check_actions, check_capabilities, check_mcp_clients, check_resources, refuse_unsupported
from .connectors import turn_choice

__all__ = ["deploy_draft", "list_releases", "named_release", "read_release", "read_release_of_status", "update_draft"]

_VERSION = re.compile(r"^\d{1,9}(\.\d{1,9}){0,2}$")


async def named_release(
    session: AsyncSession, who: Principal, release_uuid: uuid.UUID, agent_uuid: uuid.UUID | None
) -> Release:
    """The caller's release, and `agent_uuid`'s when given; else `releaseNotFound`."""
    release = await release_store.get_release(session, who.workspace_uuid, release_uuid)
    if release is None or (agent_uuid is not None and release.agent_uuid != agent_uuid):
        raise ReleaseNotFound(f"Release {release_uuid} not found" + (" for this agent" if release else ""))
    return release


async def read_release(state: AppState, who: Principal, release_uuid: uuid.UUID) -> Release:
    async with state.sessions() as session:
        release = await release_store.get_release(session, who.workspace_uuid, release_uuid)
        if release is None:
            raise ReleaseNotFound()
        return release


async def read_release_of_status(state: AppState, who: Principal, agent_uuid: uuid.UUID, status: str) -> Release:
    async with state.sessions() as session:
        await require_agent(session, who, agent_uuid)
        release = await release_store.release_of_status(session, who.workspace_uuid, agent_uuid, status)
        if release is None:
            if status == "draft":
                raise DraftReleaseNotFound()
            raise ReleaseNotFound(f"Agent {agent_uuid} has no {status} release")
        return release


async def list_releases(
    state: AppState,
    who: Principal,
    *,
    agent_uuid: uuid.UUID | None,
    user_uuid: uuid.UUID | None,
    statuses: list[str],
    limit: int,
    offset: int,
) -> list[Release]:
    async with state.sessions() as session:
        return await release_store.list_releases(
            session,
            who.workspace_uuid,
            agent_uuid=agent_uuid,
            user_uuid=user_uuid,
            statuses=statuses,
            limit=limit,
            offset=offset,
        )


async def _draft_for_update(session: AsyncSession, who: Principal, agent_uuid: uuid.UUID) -> Release:
    await require_agent(session, who, agent_uuid, for_update=True)
    draft = await release_store.release_of_status(session, who.workspace_uuid, agent_uuid, "draft", for_update=True)
    if draft is None:
        raise DraftReleaseNotFound()
    return draft


async def _apply(state: AppState, session: AsyncSession, who: Principal, draft: Release, body: ReleaseConfigIn) -> None:
    """Validate every given field first, then set them: a refused update changes nothing."""
    refuse_unsupported(output=body.output, evaluator=body.evaluator)
    values: dict[str, Any] = {}
    if "heartbeat" in body.model_fields_set:  # jobs/schedules.py wakes the deployed release's chats
        values["heartbeat"] = body.heartbeat.model_dump(mode="json", by_alias=True) if body.heartbeat else None
    if body.integration_slug is not None or body.language_model_slug is not None or body.connector_uuid is not None:
        # The draft's connector stays while the integration does; only a connector named is stored
        # (without one, each turn takes the workspace's default connector at its time).
        connector = body.connector_uuid or (
            draft.connector_uuid if body.integration_slug in (None, draft.integration_slug) else None
        )
        choice = await turn_choice(
            state,
            session,
            who.workspace_uuid,
            body.integration_slug or (None if body.language_model_slug or connector else draft.integration_slug),
            body.language_model_slug or draft.language_model_slug,
            connector,
        )
        values["integration_slug"], values["language_model_slug"] = choice.integration, choice.slug
        values["connector_uuid"] = connector
    if body.max_steps is not None and body.max_steps > state.settings.max_steps_limit:
        raise BadRequest(f"maxSteps must be at most {state.settings.max_steps_limit}")
    if body.effective_actions is not None:
        actions = restore_actions(body.effective_actions, draft.actions or [])
        values["actions"] = await check_actions(state, session, who.workspace_uuid, actions)
    if body.resources is not None:
        values["resources"] = await check_resources(state, session, who.workspace_uuid, body.resources)
    if body.capabilities is not None:
        values["capabilities"] = check_capabilities(body.capabilities, state.settings)
    if body.mcp_clients is not None:
        clients = restore_redacted(body.mcp_clients, draft.mcp_clients or [])
        values["mcp_clients"] = await check_mcp_clients(state, session, who.workspace_uuid, clients)
    for name in ("system_prompt", "temperature", "max_steps", "with_reasoning", "suggested_actions"):
        if name in body.model_fields_set:
            values[name] = getattr(body, name)
    if "with_reasoning" in values:
        values["with_reasoning"] = bool(values["with_reasoning"])
    if values.get("suggested_actions") is None:
        values.pop("suggested_actions", None)
    for name, value in values.items():
        setattr(draft, name, value)
    draft.updated_at = utcnow()


async def update_draft(state: AppState, who: Principal, body: ReleaseDraftUpdate) -> Release:
    async with state.sessions() as session, session.begin():
        draft = await _draft_for_update(session, who, body.agent_uuid)
        if body.parent_uuid is not None:
            parent = await release_store.get_release(session, who.workspace_uuid, body.parent_uuid)
            if parent is None or parent.agent_uuid != body.agent_uuid or parent.uuid == draft.uuid:
                raise InvalidParent(f"parentUuid {body.parent_uuid} is not an earlier release of this agent")
            draft.parent_uuid = parent.uuid
        await _apply(state, session, who, draft, body)
        await session.flush()
        return draft


def _parse_version(text: str) -> tuple[int, ...]:
    if not _VERSION.match(text):
        raise InvalidReleaseVersion(f"version {text!r} must be dotted numbers, e.g. `1`, `1.2` or `1.2.3`")
    parts = tuple(int(p) for p in text.split("."))
    return parts + (0,) * (3 - len(parts))


def _next_version(earlier: list[str]) -> str:
    parsed = [p for p in (_safe(v) for v in earlier) if p is not None]
    if not parsed:
        return "1.0.0"
    major, minor, patch = max(parsed)
    return f"{major}.{minor}.{patch + 1}"


def _safe(text: str) -> tuple[int, ...] | None:
    try:
        return _parse_version(text)
    except InvalidReleaseVersion:
        return None


async def deploy_draft(state: AppState, who: Principal, body: ReleaseDeploy) -> Release:
    async with state.sessions() as session, session.begin():
        draft = await _draft_for_update(session, who, body.agent_uuid)
        await _apply(state, session, who, draft, body)
        earlier = await release_store.versions_of(session, body.agent_uuid)
        if body.version is not None:
            wanted = _parse_version(body.version)
            newest = max((p for p in (_safe(v) for v in earlier) if p is not None), default=None)
            if newest is not None and wanted <= newest:
                shown = ".".join(map(str, newest))
                raise InvalidReleaseVersion(f"version {body.version} must be above the agent's latest, {shown}")
            version = body.version
        else:
            version = _next_version(earlier)
        now = utcnow()
        previous = await release_store.release_of_status(
            session, who.workspace_uuid, body.agent_uuid, "deployed", for_update=True
        )
        if previous is not None:
            previous.status = "archived"
            previous.updated_at = now
            await session.flush()  # one deployed release per agent (a unique partial index)
        draft.status = "deployed"
        draft.version = version
        draft.description = body.description
        draft.deployed_at = now
        draft.updated_at = now
        await session.flush()
        session.add(_new_draft(draft, who))
        agent = await require_agent(session, who, body.agent_uuid, for_update=True)
        agent.deployed_release_uuid = draft.uuid
        agent.updated_at = now
        await session.flush()
    await state.schedules.agent_changed(body.agent_uuid)  # its cron triggers and heartbeat
    return draft


def _new_draft(deployed: Release, who: Principal) -> Release:
    now = utcnow()
    copied = {name: getattr(deployed, name) for name in release_store.CONFIG_FIELDS}
    return Release(
        uuid=uuid.uuid4(),
        workspace_uuid=deployed.workspace_uuid,
        agent_uuid=deployed.agent_uuid,
        parent_uuid=deployed.uuid,
        user_uuid=who.user_uuid,
        status="draft",
        created_at=now,
        updated_at=now,
        **copied,
    )
