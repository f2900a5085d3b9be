"""capabilities: memories, document versions, votes, the suggested actions cache

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cargohold.db.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["workspace_uuid"], ["workspaces.uuid"], name=f"fk_{table}_workspace_uuid_workspaces"
    )


def upgrade() -> None:
    op.create_table(
        "memories",
        sa.Column("mem0_id", sa.String(length=64), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=True),
        sa.Column("agent_uuid", sa.Uuid(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("normalized", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _workspace_fk("memories"),
        sa.PrimaryKeyConstraint("mem0_id", name="pk_memories"),
    )
    op.create_index("ix_memories_user", "memories", ["workspace_uuid", "user_uuid", "updated_at"])
    op.create_index("ix_memories_agent", "memories", ["workspace_uuid", "agent_uuid", "updated_at"])
    op.create_table(
        "documents",
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=True),
        sa.Column("chat_uuid", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        _workspace_fk("documents"),
        sa.PrimaryKeyConstraint("uuid", "created_at", name="pk_documents"),
    )
    op.create_index("ix_documents_ws_uuid", "documents", ["workspace_uuid", "uuid", "created_at"])
    op.create_table(
        "votes",
        sa.Column("message_uuid", sa.Uuid(), nullable=False),
        sa.Column("user_uuid", sa.Uuid(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("chat_uuid", sa.Uuid(), nullable=False),
        sa.Column("is_upvoted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_uuid"], ["messages.uuid"], name="fk_votes_message_uuid_messages"),
        _workspace_fk("votes"),
        sa.PrimaryKeyConstraint("message_uuid", "user_uuid", name="pk_votes"),
    )
    op.create_index("ix_votes_ws_chat", "votes", ["workspace_uuid", "chat_uuid"])
    op.create_table(
        "suggested_actions_cache",
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("cache_key", sa.String(length=500), nullable=False),
        sa.Column("suggested_actions", JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _workspace_fk("suggested_actions_cache"),
        sa.PrimaryKeyConstraint("workspace_uuid", "cache_key", name="pk_suggested_actions_cache"),
    )


def downgrade() -> None:
    op.drop_table("suggested_actions_cache")
    op.drop_index("ix_votes_ws_chat", table_name="votes")
    op.drop_table("votes")
    op.drop_index("ix_documents_ws_uuid", table_name="documents")
    op.drop_table("documents")
    op.drop_index("ix_memories_agent", table_name="memories")
    op.drop_index("ix_memories_user", table_name="memories")
    op.drop_table("memories")
