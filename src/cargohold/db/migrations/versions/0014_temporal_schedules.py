"""temporal and schedules: the step journal of durable turns, the claimed ticks of cron triggers

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cargohold.db.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "turn_steps",
        sa.Column("message_uuid", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", JSON, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_uuid"],
            ["messages.uuid"],
            name="fk_turn_steps_message_uuid_messages",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_uuid", "kind", "key", name="pk_turn_steps"),
    )
    op.create_table(
        "schedule_ticks",
        sa.Column("agent_uuid", sa.Uuid(), nullable=False),
        sa.Column("trigger_key", sa.String(length=64), nullable=False),
        sa.Column("tick_at", UTCDateTime(), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("chat_uuid", sa.Uuid(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_uuid"], ["agents.uuid"], name="fk_schedule_ticks_agent_uuid_agents", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("agent_uuid", "trigger_key", "tick_at", name="pk_schedule_ticks"),
    )


def downgrade() -> None:
    op.drop_table("schedule_ticks")
    op.drop_table("turn_steps")
