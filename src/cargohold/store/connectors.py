"""Connector rows: every query scoped to a workspace; soft-deleted rows are invisible."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Connector, Dataset

__all__ = [
    "clear_default",
    "connector_dataset",
    "default_connector",
    "get_connector",
    "list_connectors",
    "slug_taken",
]


def _live(workspace_uuid: uuid.UUID | sa.BindParameter[uuid.UUID]) -> sa.Select[Connector]:
    return sa.select(Connector).where(Connector.workspace_uuid == workspace_uuid, Connector.deleted_at.is_(None))


async def get_connector(
    session: AsyncSession, workspace_uuid: uuid.UUID, connector_uuid: uuid.UUID, *, for_update: bool = False
) -> Connector | None:
    query = _live(workspace_uuid).where(Connector.uuid == connector_uuid)
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def list_connectors(
    session: AsyncSession, workspace_uuid: uuid.UUID, integration_slug: str | None = None
) -> list[Connector]:
    query = _live(workspace_uuid).order_by(Connector.created_at, Connector.uuid)
    if integration_slug is not None:
        query = query.where(Connector.integration_slug == integration_slug)
    return list((await session.execute(query)).scalars())


async def default_connector(
    session: AsyncSession, workspace_uuid: uuid.UUID, integration_slug: str
) -> Connector | None:
    params = {"workspace_uuid": workspace_uuid, "integration_slug": integration_slug}
    return (await session.execute(_DEFAULT, params)).scalar_one_or_none()


_DEFAULT = _live(sa.bindparam("workspace_uuid")).where(
    Connector.integration_slug == sa.bindparam("integration_slug"), Connector.is_default.is_(True)
)
"""Built once, not per call: on the path of every turn that runs a model integration (AGENTS.md,
"Statements on the hot path")."""


async def clear_default(
    session: AsyncSession, workspace_uuid: uuid.UUID, integration_slug: str, keep: uuid.UUID | None = None
) -> None:
    """No connector of this integration is the default any more (but `keep`)."""
    query = (
        sa.update(Connector)
        .where(
            Connector.workspace_uuid == workspace_uuid,
            Connector.integration_slug == integration_slug,
            Connector.is_default.is_(True),
            Connector.deleted_at.is_(None),
        )
        .values(is_default=False)
    )
    if keep is not None:
        query = query.where(Connector.uuid != keep)
    await session.execute(query)
    await session.flush()


async def slug_taken(session: AsyncSession, workspace_uuid: uuid.UUID, slug: str) -> bool:
    query = sa.select(Connector.uuid).where(
        Connector.workspace_uuid == workspace_uuid,
        sa.func.lower(Connector.slug) == slug.lower(),
        Connector.deleted_at.is_(None),
    )
    return (await session.execute(query)).first() is not None


async def connector_dataset(
    session: AsyncSession, workspace_uuid: uuid.UUID, connector_uuid: uuid.UUID
) -> Dataset | None:
    query = sa.select(Dataset).where(
        Dataset.workspace_uuid == workspace_uuid,
        Dataset.connector_uuid == connector_uuid,
        Dataset.deleted_at.is_(None),
    )
    return (await session.execute(query)).scalar_one_or_none()
