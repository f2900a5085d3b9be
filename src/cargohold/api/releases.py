"""/v1/ai/releases: HTTP only; the work is in services/releases.py. Both path generations are
served: `getDraft`/`draft`, `updateDraft`/`draft/update`, `deployDraft`/`draft/deploy`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.releases import (
    Release,
    ReleaseDeploy,
    ReleaseDraftUpdate,
    ReleaseEnvelope,
    ReleasesEnvelope,
    ReleaseStatus,
    ReleaseSummary,
)
from ..services import releases as service
from .deps import Caller, Offset, State

__all__ = ["release_out", "release_summary", "router"]

router = APIRouter(prefix="/v1/ai/releases", tags=["AI - Releases"], responses=ERROR_RESPONSES)
AgentQuery = Annotated[UUID4, Query(alias="agentUuid")]


def _fields(release: Any, model: type[ReleaseSummary]) -> dict[str, Any]:
    fields: dict[str, Any] = {name: getattr(release, name) for name in model.model_fields if name != "tools"}
    fields["tools"] = release.actions
    fields["mcp_clients"] = release.mcp_clients or []  # secrets are masked by the models' serializers
    return fields


def release_out(release: Any) -> Release:
    return Release.model_validate(_fields(release, Release))


def release_summary(release: Any) -> ReleaseSummary:
    return ReleaseSummary.model_validate(_fields(release, ReleaseSummary))


@router.get("/list", summary="List releases, newest first")
async def list_releases(
    state: State,
    who: Caller,
    agent_uuid: Annotated[UUID4 | None, Query(alias="agentUuid")] = None,
    user_uuid: Annotated[UUID4 | None, Query(alias="userUuid")] = None,
    statuses: Annotated[list[ReleaseStatus] | None, Query(alias="statuses[]")] = None,
    statuses_plain: Annotated[
        list[ReleaseStatus] | None, Query(alias="statuses", description="Same as `statuses[]`.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> ReleasesEnvelope:
    releases = await service.list_releases(
        state,
        who,
        agent_uuid=agent_uuid,
        user_uuid=user_uuid,
        statuses=[*(statuses or []), *(statuses_plain or [])],
        limit=limit,
        offset=offset,
    )
    return ReleasesEnvelope(releases=[release_out(r) for r in releases])


@router.get("/getDraft", summary="Get an agent's draft release")
@router.get("/draft", summary="Get an agent's draft release (SDK path)")
async def get_draft(state: State, who: Caller, agent_uuid: AgentQuery) -> ReleaseEnvelope:
    return ReleaseEnvelope(release=release_out(await service.read_release_of_status(state, who, agent_uuid, "draft")))


@router.get("/deployed", summary="Get an agent's deployed release")
async def get_deployed(state: State, who: Caller, agent_uuid: AgentQuery) -> ReleaseEnvelope:
    release = await service.read_release_of_status(state, who, agent_uuid, "deployed")
    return ReleaseEnvelope(release=release_out(release))


@router.put("/updateDraft", summary="Update an agent's draft release")
@router.put("/draft/update", summary="Update an agent's draft release (SDK path)")
async def update_draft(state: State, who: Caller, body: ReleaseDraftUpdate) -> ReleaseEnvelope:
    return ReleaseEnvelope(release=release_out(await service.update_draft(state, who, body)))


@router.post("/deployDraft", summary="Deploy an agent's draft release")
@router.post("/draft/deploy", summary="Deploy an agent's draft release (SDK path)")
async def deploy_draft(state: State, who: Caller, body: ReleaseDeploy) -> ReleaseEnvelope:
    return ReleaseEnvelope(release=release_out(await service.deploy_draft(state, who, body)))


@router.get("/{uuid}", summary="Get a release")
async def get_release(state: State, who: Caller, uuid: UUID4) -> ReleaseEnvelope:
    return ReleaseEnvelope(release=release_out(await service.read_release(state, who, uuid)))
