"""The use cases of /v1/storage: datasets, models, columns, records of native models, queries.
One request is one transaction; everything is checked before the first write."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..db.tables import Dataset, StorageModel, StorageRecord
from ..db.types import utcnow
from ..schemas.storage import ModelCreate, ModelUpdate, RecordsList
from ..state import AppState
from ..store import storage as store
from ..store.workspaces import Principal
from . import ddl
from .errors import (
    DatasetNotFound,
    DuplicateSlug,
    InvalidRecord,
    ModelNotCompatible,
    ModelNotFound,
    QueryNotAllowed,
    RecordNotFound,
)
from .guard import QueryRefused
from .indexes import drop_indexes, sync_indexes
from .models import checked_config, model_columns, new_id, record_out, record_values, title_of
from .query import run_workspace_query
from .runner import QueryFailed
from .secrets import ensure_keyring

__all__ = [
    "create_model",
    "create_records",
    "delete_model",
    "get_record",
    "list_columns",
    "list_datasets",
    "list_models",
    "list_records",
    "model_ddl",
    "read_dataset",
    "read_model",
    "remove_records",
    "run_query",
    "update_model",
    "update_records",
]

QUERY_ROW_CAP = 10_000
QUERY_TIMEOUT_SECONDS = 10.0


def _keyring(state: AppState) -> None:
    ensure_keyring(state.settings.database_url, state.engine, state.reads.kw["bind"])


async def list_datasets(state: AppState, who: Principal) -> list[Dataset]:
    _keyring(state)
    async with state.reads() as session:
        found = await store.list_datasets(session, who.workspace_uuid)
    if any(d.kind == "native" for d in found):
        return found
    async with state.sessions() as session, session.begin():  # the first time: create the native one
        await store.native_dataset(session, who.workspace_uuid)
        return await store.list_datasets(session, who.workspace_uuid)


async def read_dataset(state: AppState, who: Principal, dataset_uuid: uuid.UUID) -> Dataset:
    _keyring(state)
    async with state.reads() as session:
        found = await store.get_dataset(session, who.workspace_uuid, dataset_uuid)
    if found is None:
        raise DatasetNotFound()
    return found


def model_out(model: StorageModel) -> dict[str, Any]:
    return {
        "uuid": model.uuid,
        "workspace_uuid": model.workspace_uuid,
        "slug": model.slug,
        "name": model.name,
        "description": model.description,
        "dataset_uuid": model.dataset_uuid,
        "extractor_slug": model.extractor_slug,
        "config": model.config,
        "columns": model_columns(model),
        "id_column_slug": "_id" if model.kind == "native" else model.config["idColumnSlug"],
        "title_column_slug": model.title_column_slug,
        "time_column_slug": model.time_column_slug,
        "kind": model.kind,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
        "deleted_at": model.deleted_at,
    }


def _refuse_unsupported(body: ModelCreate | ModelUpdate) -> None:
    # Models are read live (no sync schedule) and folders are not served: never silently ignored.
    for name, value in (("schedule", body.schedule), ("folderUuid", body.folder_uuid)):
        if value is not None:
            raise ModelNotCompatible(f"`{name}` is not supported by this cargohold version; send null or omit it")


async def create_model(state: AppState, who: Principal, body: ModelCreate) -> StorageModel:
    _keyring(state)
    _refuse_unsupported(body)
    async with state.reads() as session:
        dataset = await store.get_dataset(session, who.workspace_uuid, body.dataset_uuid)
    if dataset is None:
        raise DatasetNotFound()
    config, columns, title, time = await checked_config(dataset, body.extractor_slug, body.config)
    now = utcnow()
    model = StorageModel(
        uuid=uuid.uuid4(),
        workspace_uuid=who.workspace_uuid,
        dataset_uuid=dataset.uuid,
        slug=body.slug,
        name=body.name,
        description=body.description,
        kind=dataset.kind,
        extractor_slug=body.extractor_slug,
        config=config,
        columns=columns,
        id_column_slug="_id" if dataset.kind == "native" else config["idColumnSlug"],
        title_column_slug=title,
        time_column_slug=time,
        created_at=now,
        updated_at=now,
    )
    try:
        async with state.sessions() as session, session.begin():
            if await _slug_taken(session, dataset.uuid, body.slug):
                raise DuplicateSlug(f"a model `{body.slug}` already exists in dataset `{dataset.slug}`")
            session.add(model)
            await session.flush()
            await sync_indexes(session, model)
    except IntegrityError:
        raise DuplicateSlug(f"a model `{body.slug}` already exists in dataset `{dataset.slug}`") from None
    return model


async def _slug_taken(session: Any, dataset_uuid: uuid.UUID, slug: str) -> bool:
    query = sa.select(StorageModel.uuid).where(
        StorageModel.dataset_uuid == dataset_uuid, StorageModel.slug == slug, StorageModel.deleted_at.is_(None)
    )
    return (await session.execute(query)).first() is not None


async def list_models(state: AppState, who: Principal) -> list[StorageModel]:
    async with state.reads() as session:
        return await store.list_models(session, who.workspace_uuid)


async def read_model(state: AppState, who: Principal, model_uuid: uuid.UUID) -> StorageModel:
    async with state.reads() as session:
        model = await store.get_model(session, who.workspace_uuid, model_uuid)
    if model is None:
        raise ModelNotFound()
    return model


async def update_model(state: AppState, who: Principal, model_uuid: uuid.UUID, body: ModelUpdate) -> StorageModel:
    _keyring(state)
    _refuse_unsupported(body)
    model = await read_model(state, who, model_uuid)
    changes: dict[str, Any] = {}
    if body.config is not None:
        async with state.reads() as session:
            dataset = await store.get_dataset(session, who.workspace_uuid, model.dataset_uuid)
        if dataset is None:
            raise DatasetNotFound()
        config, columns, title, time = await checked_config(dataset, model.extractor_slug, body.config)
        if model.kind == "native":
            kept = {c["slug"]: c["type"] for c in columns}
            changed = [c["slug"] for c in model.columns if c["slug"] in kept and kept[c["slug"]] != c["type"]]
            if changed:
                raise ModelNotCompatible(f"the type of column `{changed[0]}` cannot be changed (add a new column)")
        changes.update(config=config, columns=columns, title_column_slug=title, time_column_slug=time)
    for field in ("name", "description"):
        if field in body.model_fields_set:
            value = getattr(body, field)
            if field == "name" and value is None:
                raise ModelNotCompatible("`name` cannot be null")
            changes[field] = value
    async with state.sessions() as session, session.begin():
        current = await store.get_model(session, who.workspace_uuid, model_uuid)
        if current is None:
            raise ModelNotFound()
        for key, value in changes.items():
            setattr(current, key, value)
        current.updated_at = utcnow()
        await session.flush()
        if "columns" in changes:
            await sync_indexes(session, current)
        return current


async def delete_model(state: AppState, who: Principal, model_uuid: uuid.UUID) -> None:
    async with state.sessions() as session, session.begin():
        model = await store.get_model(session, who.workspace_uuid, model_uuid)
        if model is None:
            raise ModelNotFound()
        await drop_indexes(session, model)
        await store.delete_records(session, who.workspace_uuid, model.uuid, None)
        model.deleted_at = utcnow()


async def model_ddl(state: AppState, who: Principal, model_uuid: uuid.UUID) -> dict[str, Any]:
    _keyring(state)
    model = await read_model(state, who, model_uuid)
    async with state.reads() as session:
        dataset = await store.get_dataset(session, who.workspace_uuid, model.dataset_uuid)
    if dataset is None:
        raise DatasetNotFound()
    return ddl.model_ddl(model, dataset, state.engine.dialect.name)


async def list_columns(state: AppState, who: Principal, model_uuid: uuid.UUID) -> list[dict[str, Any]]:
    return model_columns(await read_model(state, who, model_uuid))


async def _native(state: AppState, who: Principal, model_uuid: uuid.UUID) -> StorageModel:
    model = await read_model(state, who, model_uuid)
    if model.kind != "native":
        raise ModelNotCompatible("records are written to native models only (connector datasets are read only)")
    return model


async def create_records(
    state: AppState, who: Principal, model_uuid: uuid.UUID, datas: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    model = await _native(state, who, model_uuid)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    now = utcnow()
    for index, data in enumerate(datas):
        values = record_values(model, index, data)
        record_id = new_id(data, index)
        if record_id in seen:
            raise InvalidRecord(f"record {index}: `_id` {record_id!r} is given twice")
        seen.add(record_id)
        rows.append(
            {
                "model_uuid": model.uuid,
                "id": record_id,
                "workspace_uuid": who.workspace_uuid,
                "title": title_of(model, record_id, values),
                "emitted_at": now,
                "data": values,
            }
        )
    async with state.sessions() as session, session.begin():
        if await store.get_model(session, who.workspace_uuid, model_uuid) is None:
            raise ModelNotFound()
        existing = await store.get_records(session, who.workspace_uuid, model.uuid, [r["id"] for r in rows])
        if existing:
            taken = next(iter(existing))
            index = next(i for i, r in enumerate(rows) if r["id"] == taken)
            raise DuplicateSlug(f"record {index}: a record with `_id` {taken!r} already exists")
        for start in range(0, len(rows), 1000):
            await session.execute(sa.insert(StorageRecord), rows[start : start + 1000])
    return [
        {"_id": r["id"], "_title": r["title"], "_emitted_at": now.isoformat().replace("+00:00", "Z"), **r["data"]}
        for r in rows
    ]


async def update_records(
    state: AppState, who: Principal, model_uuid: uuid.UUID, changes: list[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    model = await _native(state, who, model_uuid)
    checked = [(record_id, record_values(model, i, data, partial=True)) for i, (record_id, data) in enumerate(changes)]
    async with state.sessions() as session, session.begin():
        found = await store.get_records(session, who.workspace_uuid, model.uuid, [c[0] for c in checked])
        for index, (record_id, _) in enumerate(checked):
            if record_id not in found:
                raise RecordNotFound(f"record {index}: no record `{record_id}` in model `{model.slug}`")
        out = []
        for record_id, values in checked:
            record = found[record_id]
            data = {**record.data, **values}
            record.data = {k: v for k, v in data.items() if v is not None}
            record.title = title_of(model, record_id, record.data)
            out.append(record)
        await session.flush()
        return [record_out(r) for r in out]


async def remove_records(state: AppState, who: Principal, model_uuid: uuid.UUID, ids: list[str]) -> None:
    model = await _native(state, who, model_uuid)
    async with state.sessions() as session, session.begin():
        found = await store.get_records(session, who.workspace_uuid, model.uuid, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            raise RecordNotFound(f"no record `{missing[0]}` in model `{model.slug}`")
        await store.delete_records(session, who.workspace_uuid, model.uuid, ids)


async def list_records(state: AppState, who: Principal, body: RecordsList) -> list[dict[str, Any]]:
    model = await _native(state, who, body.model_uuid)
    sort = (body.sort.column_slug, body.sort.kind) if body.sort else None
    async with state.reads() as session:
        records = await store.list_records(
            session, who.workspace_uuid, model.uuid, limit=body.limit, offset=body.offset, sort=sort
        )
    return [record_out(r) for r in records]


async def get_record(state: AppState, who: Principal, model_uuid: uuid.UUID, record_id: str) -> dict[str, Any]:
    model = await _native(state, who, model_uuid)
    async with state.reads() as session:
        found = await store.get_records(session, who.workspace_uuid, model.uuid, [record_id])
    if record_id not in found:
        raise RecordNotFound()
    return record_out(found[record_id])


async def run_query(state: AppState, who: Principal, sql: str) -> list[dict[str, Any]]:
    _keyring(state)
    try:
        async with state.reads() as session:
            result = await run_workspace_query(
                session, who.workspace_uuid, sql, cap=QUERY_ROW_CAP, timeout_seconds=QUERY_TIMEOUT_SECONDS
            )
    except (QueryRefused, QueryFailed) as exc:
        raise QueryNotAllowed(f"query refused: {exc}") from None
    return result.rows
