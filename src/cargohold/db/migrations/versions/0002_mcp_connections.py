"""mcp connections: refreshed OAuth token sets of MCP clients

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cargohold.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mcp_connections",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("token_type", sa.String(length=40), nullable=True),
        sa.Column("scope", sa.Text(), nullable=True),
        sa.Column("expires_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("needs_reauth", sa.Boolean(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("refreshed_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name=op.f("fk_mcp_connections_workspace_uuid_workspaces")
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_mcp_connections")),
        sa.UniqueConstraint("workspace_uuid", "key", name=op.f("uq_mcp_connections_workspace_uuid_key")),
    )


def downgrade() -> None:
    op.drop_table("mcp_connections")
