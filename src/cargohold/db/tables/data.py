"""Data: datasets, storage models and records, connectors."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ...crypto import EncryptedJSON, EncryptedText
from ..types import JSONType, UTCDateTime, utcnow
from .base import NOT_DELETED, Base


class Dataset(Base):
    """Where a workspace's data models live: its one `native` dataset (records stored here), or a
    `connector` dataset the operator attached (`cargohold dataset add`): an external SQL database
    that is only ever read. `url` is a secret: encrypted at rest, never returned or logged."""

    __tablename__ = "storage_datasets"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    slug: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[str] = mapped_column(sa.String(16))
    """native | connector"""
    url: Mapped[str | None] = mapped_column(EncryptedText)
    connector_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    """The database connector (`/v1/connection/connectors`) this dataset reads; None when the
    operator attached it with `cargohold dataset add` before connectors existed."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ux_storage_datasets_ws_slug",
            "workspace_uuid",
            "slug",
            unique=True,
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
    )


class StorageModel(Base):
    """A data model: a native table of records, or a connector's `table` / `sql` extractor."""

    __tablename__ = "storage_models"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    dataset_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("storage_datasets.uuid"))
    slug: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    kind: Mapped[str] = mapped_column(sa.String(16))
    extractor_slug: Mapped[str] = mapped_column(sa.String(32))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    columns: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    id_column_slug: Mapped[str] = mapped_column(sa.String(64))
    title_column_slug: Mapped[str] = mapped_column(sa.String(64))
    time_column_slug: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ux_storage_models_dataset_slug",
            "dataset_uuid",
            "slug",
            unique=True,
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
        sa.Index("ix_storage_models_ws_created", "workspace_uuid", "created_at"),
    )


class StorageRecord(Base):
    """A record of a native model: its values in `data` (checked against the model's columns),
    read as typed columns through `datasets/views.py`."""

    __tablename__ = "storage_records"
    model_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("storage_models.uuid"), primary_key=True)
    id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.Uuid)
    title: Mapped[str | None] = mapped_column(sa.Text)
    emitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)

    __table_args__ = (
        sa.Index("ix_storage_records_model_emitted", "model_uuid", "emitted_at"),
        sa.Index("ix_storage_records_model_title", "model_uuid", "title"),
    )


# --- connectors (issue 10) -------------------------------------------------------------------------


DEFAULT_CONNECTOR = sa.text("is_default AND deleted_at IS NULL")


class Connector(Base):
    """Credentials a workspace brings (`/v1/connection/connectors`): a model provider's key and
    base URL, or a database. `config` is encrypted whole at rest and masked on every read."""

    __tablename__ = "connectors"
    uuid: Mapped[UUID] = mapped_column(sa.Uuid, primary_key=True)
    workspace_uuid: Mapped[UUID] = mapped_column(sa.ForeignKey("workspaces.uuid"))
    user_uuid: Mapped[UUID | None] = mapped_column(sa.Uuid)
    name: Mapped[str] = mapped_column(sa.String(200))
    slug: Mapped[str] = mapped_column(sa.String(64))
    integration_slug: Mapped[str] = mapped_column(sa.String(64))
    is_default: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    config: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    rate_limit: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cache_ttl_milliseconds: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index(
            "ux_connectors_ws_slug",
            "workspace_uuid",
            "slug",
            unique=True,
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        ),
        # One default per integration per workspace.
        sa.Index(
            "ux_connectors_ws_default",
            "workspace_uuid",
            "integration_slug",
            unique=True,
            sqlite_where=DEFAULT_CONNECTOR,
            postgresql_where=DEFAULT_CONNECTOR,
        ),
    )


# --- Files (issue 12): uploaded files, their folders and their indexing state ---
