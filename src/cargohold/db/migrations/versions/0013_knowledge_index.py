"""knowledge: file chunks with embeddings, and their keyword index (FTS5 / tsvector + GIN)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cargohold.db.types import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SQLITE_FTS = (
    "CREATE VIRTUAL TABLE knowledge_chunks_fts USING fts5("
    "text, content='knowledge_chunks', content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER knowledge_chunks_ai AFTER INSERT ON knowledge_chunks BEGIN "
    "INSERT INTO knowledge_chunks_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER knowledge_chunks_ad AFTER DELETE ON knowledge_chunks BEGIN "
    "INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER knowledge_chunks_au AFTER UPDATE OF text ON knowledge_chunks BEGIN "
    "INSERT INTO knowledge_chunks_fts(knowledge_chunks_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO knowledge_chunks_fts(rowid, text) VALUES (new.id, new.text); END",
)
POSTGRES_FTS = (
    # Hyphens and slashes become spaces first: PostgreSQL's parser reads `SKU-4471` as `sku` and
    # the signed number `-4471`, which a search for `4471` would miss (FTS5 splits it as words).
    "ALTER TABLE knowledge_chunks ADD COLUMN text_search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('english', translate(text, '-/', '  '))) STORED",
    "CREATE INDEX ix_knowledge_chunks_text_search ON knowledge_chunks USING gin (text_search)",
)


def upgrade() -> None:
    op.create_table(
        "knowledge_chunks",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("file_uuid", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_uuid"], ["workspaces.uuid"], name="fk_knowledge_chunks_workspace_uuid_workspaces"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_knowledge_chunks"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_knowledge_chunks_ws_file", "knowledge_chunks", ["workspace_uuid", "file_uuid"])
    op.create_table(
        "knowledge_index_versions",
        sa.Column("workspace_uuid", sa.Uuid(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("workspace_uuid", name="pk_knowledge_index_versions"),
    )
    for statement in SQLITE_FTS if op.get_bind().dialect.name == "sqlite" else POSTGRES_FTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE knowledge_chunks_fts")
    op.drop_table("knowledge_index_versions")
    op.drop_index("ix_knowledge_chunks_ws_file", table_name="knowledge_chunks")
    op.drop_table("knowledge_chunks")
