"""Storage queries: datasets, data models and native records, each scoped to a workspace."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Dataset, StorageModel, StorageRecord
from ..db.types import utcnow

__all__ = [
    "delete_records",
    "get_dataset",
    "get_dataset_by_slug",
    "get_model",
    "get_records",
    "list_datasets",
    "list_models",
    "list_records",
    "native_dataset",
]


async def native_dataset(session: AsyncSession, workspace_uuid: uuid.UUID) -> Dataset:
    """The workspace's native dataset, created on first use."""
    found = await get_dataset_by_slug(session, workspace_uuid, "native")
    if found is not None and found.kind == "native":
        return found
    query = sa.select(Dataset).where(
        Dataset.workspace_uuid == workspace_uuid, Dataset.kind == "native", Dataset.deleted_at.is_(None)
    )
    found = (await session.execute(query)).scalar_one_or_none()
    if found is None:
        now = utcnow()
        found = Dataset(
            uuid=uuid.uuid4(),
            workspace_uuid=workspace_uuid,
            slug="native",
            kind="native",
            created_at=now,
            updated_at=now,
        )
        session.add(found)
        await session.flush()
    return found


async def get_dataset(session: AsyncSession, workspace_uuid: uuid.UUID, dataset_uuid: uuid.UUID) -> Dataset | None:
    query = sa.select(Dataset).where(
        Dataset.uuid == dataset_uuid, Dataset.workspace_uuid == workspace_uuid, Dataset.deleted_at.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def get_dataset_by_slug(session: AsyncSession, workspace_uuid: uuid.UUID, slug: str) -> Dataset | None:
    query = sa.select(Dataset).where(
        Dataset.slug == slug, Dataset.workspace_uuid == workspace_uuid, Dataset.deleted_at.is_(None)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_datasets(session: AsyncSession, workspace_uuid: uuid.UUID) -> list[Dataset]:
    query = (
        sa.select(Dataset)
        .where(Dataset.workspace_uuid == workspace_uuid, Dataset.deleted_at.is_(None))
        .order_by(Dataset.created_at, Dataset.uuid)
    )
    return list((await session.execute(query)).scalars())


async def get_model(session: AsyncSession, workspace_uuid: uuid.UUID, model_uuid: uuid.UUID) -> StorageModel | None:
    query = sa.select(StorageModel).where(
        StorageModel.uuid == model_uuid,
        StorageModel.workspace_uuid == workspace_uuid,
        StorageModel.deleted_at.is_(None),
    )
    return (await session.execute(query)).scalar_one_or_none()


async def list_models(
    session: AsyncSession, workspace_uuid: uuid.UUID, dataset_uuid: uuid.UUID | None = None
) -> list[StorageModel]:
    query = sa.select(StorageModel).where(
        StorageModel.workspace_uuid == workspace_uuid, StorageModel.deleted_at.is_(None)
    )
    if dataset_uuid is not None:
        query = query.where(StorageModel.dataset_uuid == dataset_uuid)
    return list((await session.execute(query.order_by(StorageModel.created_at, StorageModel.uuid))).scalars())


def _records(workspace_uuid: uuid.UUID, model_uuid: uuid.UUID) -> sa.Select[Any]:
    return sa.select(StorageRecord).where(
        StorageRecord.model_uuid == model_uuid, StorageRecord.workspace_uuid == workspace_uuid
    )


async def get_records(
    session: AsyncSession, workspace_uuid: uuid.UUID, model_uuid: uuid.UUID, ids: Sequence[str]
) -> dict[str, StorageRecord]:
    found: dict[str, StorageRecord] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        query = _records(workspace_uuid, model_uuid).where(StorageRecord.id.in_(chunk))
        found.update({r.id: r for r in (await session.execute(query)).scalars()})
    return found


async def list_records(
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    model_uuid: uuid.UUID,
    *,
    limit: int,
    offset: int,
    sort: tuple[str, str] | None,
) -> list[StorageRecord]:
    column: Any = {"_id": StorageRecord.id, "_title": StorageRecord.title, "_emitted_at": StorageRecord.emitted_at}
    by, direction = sort or ("_emitted_at", "asc")
    order = column[by].desc() if direction == "desc" else column[by].asc()
    tie = StorageRecord.id.desc() if direction == "desc" else StorageRecord.id.asc()
    query = _records(workspace_uuid, model_uuid).order_by(order, tie).limit(limit).offset(offset)
    return list((await session.execute(query)).scalars())


async def delete_records(
    session: AsyncSession, workspace_uuid: uuid.UUID, model_uuid: uuid.UUID, ids: Sequence[str] | None
) -> int:
    """Delete the given records (all the model's when `ids` is None); the number deleted."""
    deleted = 0
    chunks = [None] if ids is None else [list(ids[i : i + 500]) for i in range(0, len(ids), 500)]
    for chunk in chunks:
        query = sa.delete(StorageRecord).where(
            StorageRecord.model_uuid == model_uuid, StorageRecord.workspace_uuid == workspace_uuid
        )
        if chunk is not None:
            query = query.where(StorageRecord.id.in_(chunk))
        deleted += (await session.execute(query)).rowcount or 0  # type: ignore[attr-defined]
    return deleted
