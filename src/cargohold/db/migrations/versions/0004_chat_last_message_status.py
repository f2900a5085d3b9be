"""chats.last_message_status: the `messageStatuses[]` filter of chats/list without a join

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NOT_DELETED = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_message_status", sa.String(length=16), nullable=True))
    op.execute(
        "UPDATE chats SET last_message_status = "
        "(SELECT messages.status FROM messages WHERE messages.uuid = chats.last_message_uuid)"
    )
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.create_index(
            "ix_chats_ws_last_message_status_created",
            ["workspace_uuid", "last_message_status", "created_at", "uuid"],
            unique=False,
            sqlite_where=NOT_DELETED,
            postgresql_where=NOT_DELETED,
        )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        # A database that was ANALYZEd knows every index but this one, and SQLite's planner would
        # then take it for the unfiltered newest-first page (and sort): give it its statistics.
        has_stats = bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first()
        if has_stats:
            bind.exec_driver_sql("ANALYZE chats")
    else:
        op.execute("ANALYZE chats")


def downgrade() -> None:
    with op.batch_alter_table("chats", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_chats_ws_last_message_status_created", sqlite_where=NOT_DELETED, postgresql_where=NOT_DELETED
        )
        batch_op.drop_column("last_message_status")
