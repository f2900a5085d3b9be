"""files: uploaded files, their folders and their indexing state

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cargohold.db.types import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEX_WORK = sa.text("index_status IN ('pending', 'indexing') AND deleted_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "file_folders",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name="fk_file_folders_workspace_uuid_workspaces"
        ),
        sa.PrimaryKeyConstraint("uuid", name="pk_file_folders"),
    )
    op.create_index("ix_file_folders_ws_created", "file_folders", ["workspace_uuid", "created_at"])
    op.create_table(
        "files",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("folder_uuid", sa.Uuid(), nullable=True),
        sa.Column("library_uuid", sa.Uuid(), nullable=True),
        sa.Column("is_temporary", sa.Boolean(), nullable=False),
        sa.Column("chat_uuid", sa.Uuid(), nullable=True),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("blob_key", sa.String(length=300), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("index_status", sa.String(length=16), nullable=False),
        sa.Column("index_error", sa.Text(), nullable=True),
        sa.Column("index_model", sa.String(length=200), nullable=True),
        sa.Column("index_claimed_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["workspace_uuid"], ["workspaces.uuid"], name="fk_files_workspace_uuid_workspaces"),
        sa.PrimaryKeyConstraint("uuid", name="pk_files"),
    )
    op.create_index("ix_files_ws_folder", "files", ["workspace_uuid", "folder_uuid"])
    op.create_index("ix_files_ws_chat", "files", ["workspace_uuid", "chat_uuid"])
    op.create_index(
        "ix_files_index_work", "files", ["index_status"], sqlite_where=INDEX_WORK, postgresql_where=INDEX_WORK
    )


def downgrade() -> None:
    op.drop_index("ix_files_index_work", table_name="files")
    op.drop_index("ix_files_ws_chat", table_name="files")
    op.drop_index("ix_files_ws_folder", table_name="files")
    op.drop_table("files")
    op.drop_index("ix_file_folders_ws_created", table_name="file_folders")
    op.drop_table("file_folders")
