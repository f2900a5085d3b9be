"""Storing a connector (and a database connector's dataset), and `cargohold dataset add`, which
creates a database connector. Kept apart from services/connectors.py so the command line does not
import the model providers (seconds of imports)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from ..datasets.admin import DatasetRefused, check_database, database_config, new_connector_dataset
from ..db.engine import SessionFactory
from ..db.tables import Connector, Dataset
from ..db.types import utcnow
from ..errors import DuplicateConnectorSlug
from ..store import connectors as store

__all__ = ["add_database_connector", "insert_connector"]


async def insert_connector(
    session: AsyncSession, connector: Connector, url: str | None
) -> tuple[Connector, Dataset | None]:
    if await store.slug_taken(session, connector.workspace_uuid, connector.slug):
        raise DuplicateConnectorSlug(f"a connector `{connector.slug}` already exists in this workspace")
    if connector.is_default:
        await store.clear_default(session, connector.workspace_uuid, connector.integration_slug)
    session.add(connector)
    await session.flush()
    dataset = None
    if url is not None:
        dataset = await new_connector_dataset(session, connector.workspace_uuid, connector.slug, url, connector.uuid)
    return connector, dataset


async def add_database_connector(sessions: SessionFactory, workspace_uuid: uuid.UUID, slug: str, url: str) -> Dataset:
    """`cargohold dataset add`: a database connector made by the operator (any host or file)."""
    integration_slug, config = database_config(url)
    url = await check_database(integration_slug, config, allow=None, sqlite_dirs=None)
    now = utcnow()
    connector = Connector(
        uuid=uuid.uuid4(),
        workspace_uuid=workspace_uuid,
        name=slug,
        slug=slug,
        integration_slug=integration_slug,
        is_default=False,
        config=config,
        created_at=now,
        updated_at=now,
    )
    async with sessions() as session, session.begin():
        if await store.slug_taken(session, workspace_uuid, slug):
            raise DatasetRefused(f"the workspace already has a connector `{slug}`")
        _, dataset = await insert_connector(session, connector, url)
    assert dataset is not None
    return dataset
