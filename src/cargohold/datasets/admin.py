"""What the operator does from the command line: attach a connector dataset to a workspace."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from ..db.engine import make_session_factory
from ..db.tables import Dataset, Workspace
from ..db.types import utcnow
from ..store import storage as store
from .connectors import ConnectorError, connector_engine
from .secrets import ensure_keyring

__all__ = ["DatasetRefused", "add_connector_dataset"]


class DatasetRefused(ValueError):
    """The dataset cannot be added (the message never carries the URL)."""


async def _check_reachable(url: str) -> None:
    try:
        async with connector_engine(url) as engine, engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except ConnectorError as exc:
        raise DatasetRefused(str(exc)) from None
    except Exception as exc:  # the driver's own errors may quote the URL: only their type is shown
        raise DatasetRefused(f"the database cannot be reached ({type(exc).__name__})") from None


async def add_connector_dataset(
    engine: AsyncEngine, database_url: str, workspace_uuid: uuid.UUID, slug: str, url: str
) -> uuid.UUID:
    if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]{0,62}", slug) or slug.lower() == "native":
        raise DatasetRefused("the slug names the dataset in SQL: letters, digits and `_`, not `native`")
    await _check_reachable(url)
    ensure_keyring(database_url, engine)
    async with make_session_factory(engine)() as session, session.begin():
        if await session.get(Workspace, workspace_uuid) is None:
            raise DatasetRefused(f"no workspace {workspace_uuid}")
        await store.native_dataset(session, workspace_uuid)
        taken = await session.execute(
            sa.select(Dataset.uuid).where(
                Dataset.workspace_uuid == workspace_uuid,
                sa.func.lower(Dataset.slug) == slug.lower(),
                Dataset.deleted_at.is_(None),
            )
        )
        if taken.first() is not None:
            raise DatasetRefused(f"the workspace already has a dataset `{slug}`")
        now = utcnow()
        dataset = Dataset(
            uuid=uuid.uuid4(),
            workspace_uuid=workspace_uuid,
            slug=slug,
            kind="connector",
            url=url,
            created_at=now,
            updated_at=now,
        )
        session.add(dataset)
    return dataset.uuid
