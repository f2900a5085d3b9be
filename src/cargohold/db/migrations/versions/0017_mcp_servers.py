"""hosted MCP servers: `mcp_servers` (actions and resources served as MCP tools) and
`mcp_server_calls` (each tool call an outside client made, with its credits)

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cargohold.db.types import UTCDateTime

revision = "0017"
down_revision = "0015"
branch_labels = None
depends_on = None

NOT_DELETED = sa.text("deleted_at IS NULL")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "mcp_servers",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("actions", JSON, nullable=False),
        sa.Column("resources", JSON, nullable=False),
        sa.Column("folder_uuid", sa.Uuid(), nullable=True),
        sa.Column("template_slug", sa.String(length=200), nullable=True),
        sa.Column("is_read_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name="fk_mcp_servers_workspace_uuid_workspaces"
        ),
        sa.PrimaryKeyConstraint("uuid", name="pk_mcp_servers"),
    )
    op.create_index(
        "ix_mcp_servers_ws_created",
        "mcp_servers",
        ["workspace_uuid", "created_at"],
        sqlite_where=NOT_DELETED,
        postgresql_where=NOT_DELETED,
    )
    op.create_table(
        "mcp_server_calls",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("mcp_server_uuid", sa.Uuid(), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=True),
        sa.Column("tool_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("usage", JSON, nullable=True),
        sa.Column("credits_used_count", sa.Float(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name="fk_mcp_server_calls_workspace_uuid_workspaces"
        ),
        sa.ForeignKeyConstraint(
            ["mcp_server_uuid"], ["mcp_servers.uuid"], name="fk_mcp_server_calls_mcp_server_uuid_mcp_servers"
        ),
        sa.PrimaryKeyConstraint("uuid", name="pk_mcp_server_calls"),
    )
    op.create_index("ix_mcp_server_calls_server_created", "mcp_server_calls", ["mcp_server_uuid", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_mcp_server_calls_server_created", table_name="mcp_server_calls")
    op.drop_table("mcp_server_calls")
    op.drop_index("ix_mcp_servers_ws_created", table_name="mcp_servers")
    op.drop_table("mcp_servers")
