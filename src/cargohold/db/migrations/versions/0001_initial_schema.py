"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cargohold.db.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "chats",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=True),
        sa.Column("agent_uuid", sa.Uuid(), nullable=True),
        sa.Column("release_uuid", sa.Uuid(), nullable=True),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("trigger", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("trigger_type", sa.String(length=32), nullable=False),
        sa.Column("active_stream_uuid", sa.Uuid(), nullable=True),
        sa.Column("credits_used_count", sa.Float(), nullable=False),
        sa.Column("message_seq", sa.Integer(), nullable=False),
        sa.Column("last_message_uuid", sa.Uuid(), nullable=True),
        sa.Column("created_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name=op.f("fk_chats_workspace_uuid_workspaces")
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_chats")),
    )
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chats_ws_agent_uuid_created",
            ["workspace_uuid", "agent_uuid", "created_at", "uuid"],
            unique=False,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "ix_chats_ws_created",
            ["workspace_uuid", "created_at", "uuid"],
            unique=False,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "ix_chats_ws_release_uuid_created",
            ["workspace_uuid", "release_uuid", "created_at", "uuid"],
            unique=False,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "ix_chats_ws_trigger_type_created",
            ["workspace_uuid", "trigger_type", "created_at", "uuid"],
            unique=False,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.create_index(
            "ix_chats_ws_user_uuid_created",
            ["workspace_uuid", "user_uuid", "created_at", "uuid"],
            unique=False,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "users",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name=op.f("fk_users_workspace_uuid_workspaces")
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_users")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_workspace_uuid"), ["workspace_uuid"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("created_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_uuid"], ["users.uuid"], name=op.f("fk_api_tokens_user_uuid_users")),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name=op.f("fk_api_tokens_workspace_uuid_workspaces")
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_workspace_uuid"), ["workspace_uuid"], unique=False)

    op.create_table(
        "messages",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("chat_uuid", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("agent_uuid", sa.Uuid(), nullable=True),
        sa.Column("release_uuid", sa.Uuid(), nullable=True),
        sa.Column("user_uuid", sa.Uuid(), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("parts", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("actions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("resources", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("capabilities", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("mcp_clients", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("context_prompt", sa.Text(), nullable=True),
        sa.Column("with_reasoning", sa.Boolean(), nullable=True),
        sa.Column("temperature", sa.Float(), nullable=True),
        sa.Column("max_steps", sa.Integer(), nullable=True),
        sa.Column("integration_slug", sa.String(length=100), nullable=True),
        sa.Column("connector_uuid", sa.Uuid(), nullable=True),
        sa.Column("language_model_slug", sa.String(length=200), nullable=True),
        sa.Column("evaluated_tools", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("usage", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("output", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("meta", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("suggested_actions", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("temporal_workflow_id", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", cargohold.db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["chat_uuid"], ["chats.uuid"], name=op.f("fk_messages_chat_uuid_chats")),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name=op.f("fk_messages_workspace_uuid_workspaces")
        ),
        sa.PrimaryKeyConstraint("uuid", name=op.f("pk_messages")),
        sa.UniqueConstraint("chat_uuid", "seq", name=op.f("uq_messages_chat_uuid_seq")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_messages_unfinished_lease",
            ["lease_expires_at"],
            unique=False,
            sqlite_where=sa.text("status IN ('pending', 'generating')"),
            postgresql_where=sa.text("status IN ('pending', 'generating')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_messages_unfinished_lease",
            sqlite_where=sa.text("status IN ('pending', 'generating')"),
            postgresql_where=sa.text("status IN ('pending', 'generating')"),
        )

    op.drop_table("messages")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_workspace_uuid"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_workspace_uuid"))

    op.drop_table("users")
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_chats_ws_user_uuid_created",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_chats_ws_trigger_type_created",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_chats_ws_release_uuid_created",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_chats_ws_created",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index(
            "ix_chats_ws_agent_uuid_created",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.drop_table("chats")
    op.drop_table("workspaces")
