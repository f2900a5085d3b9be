"""storage: datasets, models and the records of native models

Revision ID: 0010
Revises: 0004 (re-chain onto 0005 when merging)
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cargohold.crypto import EncryptedText
from cargohold.db.types import UTCDateTime

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None

NOT_DELETED = sa.text("deleted_at IS NULL")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "storage_datasets",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", EncryptedText(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name="fk_storage_datasets_workspace_uuid_workspaces"
        ),
        sa.PrimaryKeyConstraint("uuid", name="pk_storage_datasets"),
    )
    op.create_index(
        "ux_storage_datasets_ws_slug",
        "storage_datasets",
        ["workspace_uuid", "slug"],
        unique=True,
        sqlite_where=NOT_DELETED,
        postgresql_where=NOT_DELETED,
    )
    op.create_table(
        "storage_models",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("dataset_uuid", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("extractor_slug", sa.String(length=32), nullable=False),
        sa.Column("config", JSON, nullable=False),
        sa.Column("columns", JSON, nullable=False),
        sa.Column("id_column_slug", sa.String(length=64), nullable=False),
        sa.Column("title_column_slug", sa.String(length=64), nullable=False),
        sa.Column("time_column_slug", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["dataset_uuid"], ["storage_datasets.uuid"], name="fk_storage_models_dataset_uuid_storage_datasets"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name="fk_storage_models_workspace_uuid_workspaces"
        ),
        sa.PrimaryKeyConstraint("uuid", name="pk_storage_models"),
    )
    op.create_index(
        "ux_storage_models_dataset_slug",
        "storage_models",
        ["dataset_uuid", "slug"],
        unique=True,
        sqlite_where=NOT_DELETED,
        postgresql_where=NOT_DELETED,
    )
    op.create_index("ix_storage_models_ws_created", "storage_models", ["workspace_uuid", "created_at"])
    op.create_table(
        "storage_records",
        sa.Column("model_uuid", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=200), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("emitted_at", UTCDateTime(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["model_uuid"], ["storage_models.uuid"], name="fk_storage_records_model_uuid_storage_models"
        ),
        sa.PrimaryKeyConstraint("model_uuid", "id", name="pk_storage_records"),
    )
    op.create_index("ix_storage_records_model_emitted", "storage_records", ["model_uuid", "emitted_at"])
    op.create_index("ix_storage_records_model_title", "storage_records", ["model_uuid", "title"])


def downgrade() -> None:
    op.drop_table("storage_records")
    op.drop_index("ix_storage_models_ws_created", table_name="storage_models")
    op.drop_index("ux_storage_models_dataset_slug", table_name="storage_models")
    op.drop_table("storage_models")
    op.drop_index("ux_storage_datasets_ws_slug", table_name="storage_datasets")
    op.drop_table("storage_datasets")
