"""/v1/connection: integrations and connectors (cargo-storage-api.md §Connection). HTTP only; the
work is in services/connectors.py. A connector's config is masked by its wire model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.connection import (
    Connector,
    ConnectorCreate,
    ConnectorEnvelope,
    ConnectorsEnvelope,
    ConnectorUpdate,
    ConnectorWithDataset,
    Integration,
    IntegrationEnvelope,
    IntegrationsEnvelope,
    LanguageModelsEnvelope,
)
from ..schemas.storage import Dataset
from ..services import connectors as service
from .deps import Caller, State

__all__ = ["router"]

router = APIRouter(prefix="/v1/connection", tags=["Connection"], responses=ERROR_RESPONSES)


@router.get("/integrations/list", summary="List what can be connected: model providers and databases")
async def list_integrations(
    who: Caller,
    category: Annotated[str | None, Query(max_length=64)] = None,
    slug: Annotated[str | None, Query(max_length=64)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
) -> IntegrationsEnvelope:
    found = service.list_integrations(category, slug, search)
    return IntegrationsEnvelope(integrations=[Integration.of(spec) for spec in found])


@router.get("/integrations/{slug}", summary="Get an integration and the JSON Schema of its connectors' config")
async def get_integration(who: Caller, slug: str) -> IntegrationEnvelope:
    return IntegrationEnvelope(integration=Integration.of(service.integration(slug)))


@router.post(
    "/connectors",
    summary="Connect: a model provider's key or a database (tested before it is stored)",
    responses={409: {"description": "The slug is taken"}},
)
async def create_connector(state: State, who: Caller, body: ConnectorCreate) -> ConnectorWithDataset:
    connector, dataset = await service.create_connector(state, who, body)
    return ConnectorWithDataset(
        connector=Connector.model_validate(connector),
        dataset=Dataset.model_validate(dataset) if dataset is not None else None,
    )


@router.get("/connectors/list", summary="List the workspace's connectors")
async def list_connectors(
    state: State,
    who: Caller,
    integration_slug: Annotated[str | None, Query(alias="integrationSlug", max_length=64)] = None,
) -> ConnectorsEnvelope:
    found = await service.list_connectors(state, who, integration_slug)
    return ConnectorsEnvelope(connectors=[Connector.model_validate(c) for c in found])


@router.get("/connectors/{uuid}", summary="Get a connector (its secrets masked)")
async def get_connector(state: State, who: Caller, uuid: UUID4) -> ConnectorEnvelope:
    return ConnectorEnvelope(connector=Connector.model_validate(await service.read_connector(state, who, uuid)))


@router.put("/connectors/{uuid}", summary="Update a connector (a new config is tested before it is stored)")
async def update_connector(state: State, who: Caller, uuid: UUID4, body: ConnectorUpdate) -> ConnectorEnvelope:
    connector = await service.update_connector(state, who, uuid, body)
    return ConnectorEnvelope(connector=Connector.model_validate(connector))


@router.delete("/connectors/{uuid}", summary="Delete a connector (and a database connector's dataset)")
async def delete_connector(state: State, who: Caller, uuid: UUID4) -> dict[str, Any]:
    await service.delete_connector(state, who, uuid)
    return {}


@router.get("/connectors/{uuid}/languageModels", summary="The models this connector can run, with limits and credits")
async def language_models(state: State, who: Caller, uuid: UUID4) -> LanguageModelsEnvelope:
    return LanguageModelsEnvelope.model_validate({"language_models": await service.language_models(state, who, uuid)})
