"""/v1/storage: datasets, data models, columns and SQL queries (cargo-storage-api.md). HTTP only;
the work is in datasets/service.py. Records are in api/storage_records.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..datasets import service
from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.storage import (
    ColumnsEnvelope,
    Dataset,
    DatasetEnvelope,
    DatasetsEnvelope,
    Model,
    ModelCreate,
    ModelDdl,
    ModelEnvelope,
    ModelsEnvelope,
    ModelUpdate,
    QueryBody,
    QueryEnvelope,
)
from .deps import Caller, State
from .storage_records import router as records_router

__all__ = ["router"]

router = APIRouter(prefix="/v1/storage", tags=["Storage"], responses=ERROR_RESPONSES)


def _model(model: Any) -> Model:
    return Model.model_validate(service.model_out(model))


@router.get("/datasets/list", summary="List the workspace's datasets (its native one and connectors)")
async def list_datasets(state: State, who: Caller) -> DatasetsEnvelope:
    return DatasetsEnvelope(datasets=[Dataset.model_validate(d) for d in await service.list_datasets(state, who)])


@router.get("/datasets/{uuid}", summary="Get a dataset")
async def get_dataset(state: State, who: Caller, uuid: UUID4) -> DatasetEnvelope:
    return DatasetEnvelope(dataset=Dataset.model_validate(await service.read_dataset(state, who, uuid)))


@router.post("/models", summary="Create a data model (native columns, or a connector's table or query)")
async def create_model(state: State, who: Caller, body: ModelCreate) -> ModelEnvelope:
    return ModelEnvelope(model=_model(await service.create_model(state, who, body)))


@router.get("/models/list", summary="List data models")
async def list_models(state: State, who: Caller) -> ModelsEnvelope:
    return ModelsEnvelope(models=[_model(m) for m in await service.list_models(state, who)])


@router.get("/models/{uuid}", summary="Get a data model")
async def get_model(state: State, who: Caller, uuid: UUID4) -> ModelEnvelope:
    return ModelEnvelope(model=_model(await service.read_model(state, who, uuid)))


@router.get("/models/{uuid}/ddl", summary="The model's table as SQL queries see it, and their dialect")
async def get_model_ddl(state: State, who: Caller, uuid: UUID4) -> ModelDdl:
    return ModelDdl.model_validate(await service.model_ddl(state, who, uuid))


@router.put("/models/{uuid}", summary="Update a data model")
async def update_model(state: State, who: Caller, uuid: UUID4, body: ModelUpdate) -> ModelEnvelope:
    return ModelEnvelope(model=_model(await service.update_model(state, who, uuid, body)))


@router.delete("/models/{uuid}", summary="Delete a data model (and a native model's records)")
async def delete_model(state: State, who: Caller, uuid: UUID4) -> dict[str, Any]:
    await service.delete_model(state, who, uuid)
    return {}


@router.get("/columns/list", summary="List a model's columns")
async def list_columns(
    state: State, who: Caller, model_uuid: Annotated[UUID4, Query(alias="modelUuid")]
) -> ColumnsEnvelope:
    return ColumnsEnvelope.model_validate({"columns": await service.list_columns(state, who, model_uuid)})


@router.post("/query", summary="Run one read-only SELECT over the workspace's models (`<dataset>.<model>`)")
async def query(state: State, who: Caller, body: QueryBody) -> QueryEnvelope:
    return QueryEnvelope(rows=await service.run_query(state, who, body.query), is_refreshing=False)


router.include_router(records_router)
