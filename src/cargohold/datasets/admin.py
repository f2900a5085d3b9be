"""Database connectors' datasets: the connection test of a `postgresql` / `sqlite` connector and
the connector dataset it comes with (`/v1/connection/connectors`, and `cargohold dataset add`,
which creates such a connector)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.tables import Dataset
from ..db.types import utcnow
from ..runtime.outbound import AllowList, OutboundRefused, checked_addresses
from ..store import storage as store
from .connectors import ConnectorError, connector_engine

__all__ = ["DatasetRefused", "check_database", "database_config", "new_connector_dataset"]


class DatasetRefused(ValueError):
    """The database cannot be attached (the message never carries the URL). `refused` is set when
    the outbound guard refused its host."""

    def __init__(self, message: str, refused: OutboundRefused | None = None) -> None:
        super().__init__(message)
        self.refused = refused


def database_config(url: str) -> tuple[str, dict[str, str]]:
    """A SQLAlchemy URL as a database connector's integration and config (`cargohold dataset add`)."""
    if url.startswith(("postgres://", "postgresql")):
        return "postgresql", {"url": url}
    if url.startswith("sqlite"):
        try:
            path = sa.make_url(url).database
        except ArgumentError:
            path = None
        if not path or path == ":memory:":
            raise DatasetRefused("a SQLite URL must name a file")
        return "sqlite", {"path": path}
    raise DatasetRefused("only PostgreSQL and SQLite databases can be attached")


def _sqlite_url(path: str, dirs: list[Path] | None) -> str:
    """The read-only URL of a SQLite file; with `dirs` (the operator's allowed directories), the
    file must be in one of them."""
    resolved = Path(path).expanduser().resolve()
    if dirs is not None:
        if not dirs:
            raise DatasetRefused(
                "`sqlite` connectors are not enabled on this server (the operator sets CARGOHOLD_SQLITE_CONNECTOR_DIRS)"
            )
        if not any(resolved.is_relative_to(d) for d in dirs):
            raise DatasetRefused(
                "`config.path`: not in a directory this server allows (CARGOHOLD_SQLITE_CONNECTOR_DIRS)"
            )
    if not resolved.is_file():
        raise DatasetRefused("`config.path`: no such SQLite file")
    return f"sqlite+aiosqlite:///file:{resolved}?mode=ro&uri=true"


async def check_database(
    integration: str, config: dict[str, str], *, allow: AllowList | None, sqlite_dirs: list[Path] | None
) -> str:
    """The connection test: the dataset URL of a database connector's config, after a `SELECT 1`.
    `allow` / `sqlite_dirs` None: the operator's own command, trusted with any host or file."""
    if integration == "sqlite":
        url = _sqlite_url(config["path"], sqlite_dirs)
    else:
        url = config["url"]
        try:
            parsed = sa.make_url(url)
        except ArgumentError:
            raise DatasetRefused("`config.url` is not a database URL") from None
        if allow is not None:
            if not parsed.host:
                raise DatasetRefused("`config.url` names no host")
            try:
                await checked_addresses(parsed.host, parsed.port or 5432, allow)
            except OutboundRefused as exc:
                # The message names the host, never the URL (which holds the password).
                raise DatasetRefused(f"`config.url`: {exc}", exc) from None
    try:
        async with connector_engine(url) as engine, engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")
    except ConnectorError as exc:
        raise DatasetRefused(str(exc)) from None
    except Exception as exc:  # the driver's own errors may quote the URL: only their type is shown
        raise DatasetRefused(f"the database cannot be reached ({type(exc).__name__})") from None
    return url


async def new_connector_dataset(
    session: AsyncSession, workspace_uuid: uuid.UUID, slug: str, url: str, connector_uuid: uuid.UUID
) -> Dataset:
    """The connector dataset of a new database connector (its slug names it in SQL)."""
    if not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9_]{0,62}", slug) or slug.lower() == "native":
        raise DatasetRefused("the slug names the dataset in SQL: letters, digits and `_`, not `native`")
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
        connector_uuid=connector_uuid,
        created_at=now,
        updated_at=now,
    )
    session.add(dataset)
    await session.flush()
    return dataset
