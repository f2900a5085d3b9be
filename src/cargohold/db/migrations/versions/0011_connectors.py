"""connectors: credentials a workspace brings (model providers, databases)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cargohold.crypto import EncryptedJSON
from cargohold.db.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

NOT_DELETED = sa.text("deleted_at IS NULL")
DEFAULT_CONNECTOR = sa.text("is_default AND deleted_at IS NULL")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "connectors",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("integration_slug", sa.String(length=64), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("config", EncryptedJSON(), nullable=False),
        sa.Column("rate_limit", JSON, nullable=True),
        sa.Column("cache_ttl_milliseconds", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name="fk_connectors_workspace_uuid_workspaces"
        ),
        sa.PrimaryKeyConstraint("uuid", name="pk_connectors"),
    )
    op.create_index(
        "ux_connectors_ws_slug",
        "connectors",
        ["workspace_uuid", "slug"],
        unique=True,
        sqlite_where=NOT_DELETED,
        postgresql_where=NOT_DELETED,
    )
    op.create_index(
        "ux_connectors_ws_default",
        "connectors",
        ["workspace_uuid", "integration_slug"],
        unique=True,
        sqlite_where=DEFAULT_CONNECTOR,
        postgresql_where=DEFAULT_CONNECTOR,
    )
    with op.batch_alter_table("storage_datasets") as batch:
        batch.add_column(sa.Column("connector_uuid", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("storage_datasets") as batch:
        batch.drop_column("connector_uuid")
    op.drop_index("ux_connectors_ws_default", table_name="connectors")
    op.drop_index("ux_connectors_ws_slug", table_name="connectors")
    op.drop_table("connectors")
