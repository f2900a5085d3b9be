"""/v1/storage/records: the records of native models (cargo-storage-api.md). HTTP only; the work
is in datasets/service.py. A bad record is a 400 naming the record and the column; a call that
fails writes nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from ..datasets import service
from ..schemas.common import ERROR_RESPONSES, UUID4
from ..schemas.storage import (
    RecordCreate,
    RecordEnvelope,
    RecordRemove,
    RecordsCreateBulk,
    RecordsEnvelope,
    RecordsList,
    RecordsRemoveBulk,
    RecordsUpdateBulk,
    RecordUpdate,
)
from .deps import Caller, State

__all__ = ["router"]

router = APIRouter(prefix="/records", tags=["Storage"], responses=ERROR_RESPONSES)


@router.post("/list", summary="List a native model's records", response_model_exclude_none=True)
async def list_records(state: State, who: Caller, body: RecordsList) -> RecordsEnvelope:
    return RecordsEnvelope(records=await service.list_records(state, who, body), is_refreshing=False)


@router.get("/get", summary="Get a record", response_model_exclude_none=True)
async def get_record(
    state: State,
    who: Caller,
    model_uuid: Annotated[UUID4, Query(alias="modelUuid")],
    record_id: Annotated[str, Query(alias="id", min_length=1, max_length=200)],
) -> RecordEnvelope:
    return RecordEnvelope(record=await service.get_record(state, who, model_uuid, record_id), is_refreshing=False)


@router.post("/create", summary="Create a record", response_model_exclude_none=True)
async def create_record(state: State, who: Caller, body: RecordCreate) -> RecordEnvelope:
    (record,) = await service.create_records(state, who, body.model_uuid, [body.data])
    return RecordEnvelope(record=record)


@router.post("/createBulk", summary="Create records in one transaction", response_model_exclude_none=True)
async def create_records(state: State, who: Caller, body: RecordsCreateBulk) -> RecordsEnvelope:
    return RecordsEnvelope(
        records=await service.create_records(state, who, body.model_uuid, [r.data for r in body.records])
    )


@router.put("/update", summary="Update a record (the given columns; null clears one)", response_model_exclude_none=True)
async def update_record(state: State, who: Caller, body: RecordUpdate) -> RecordEnvelope:
    (record,) = await service.update_records(state, who, body.model_uuid, [(body.id, body.data)])
    return RecordEnvelope(record=record)


@router.put("/updateBulk", summary="Update records in one transaction", response_model_exclude_none=True)
async def update_records(state: State, who: Caller, body: RecordsUpdateBulk) -> RecordsEnvelope:
    changes = [(r.id, r.data) for r in body.records]
    return RecordsEnvelope(records=await service.update_records(state, who, body.model_uuid, changes))


@router.delete("/remove", summary="Remove a record")
async def remove_record(state: State, who: Caller, body: RecordRemove) -> dict[str, Any]:
    await service.remove_records(state, who, body.model_uuid, [body.id])
    return {}


@router.delete("/removeBulk", summary="Remove records in one transaction")
async def remove_records(state: State, who: Caller, body: RecordsRemoveBulk) -> dict[str, Any]:
    await service.remove_records(state, who, body.model_uuid, body.ids)
    return {}
