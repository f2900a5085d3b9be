"""sealed action secrets: pinned secrets of actions (messages, releases) and of background tool-run
inputs are stored sealed (db/sealed.py); rows written before are re-written so

Only the values the masking rule calls secret change (to `fernet:<token>` of their JSON); the key
is asked for only when a row holds such a value in clear.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cargohold.crypto import PREFIX, keyring_of
from cargohold.db.sealed import seal_actions, seal_config, unseal_actions, unseal_config

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_TARGETS = (("messages", "actions", True), ("releases", "actions", True), ("tool_runs", "input", False))


def _rewrite(forward: bool) -> None:
    bind = op.get_bind()
    for table, column, is_actions in _TARGETS:
        rows = sa.table(table, sa.column("uuid", sa.Uuid()), sa.column(column, JSON))
        text = sa.cast(rows.c[column], sa.Text)
        # Only rows that can hold a secret: a `config` with headers or a secret-looking key.
        query = sa.select(rows).where(text.is_not(None))
        for row in bind.execute(query).mappings().all():
            value = row[column]
            if not value:
                continue
            if forward:
                calls: list[str] = []

                def encrypt(plain: str, calls: list[str] = calls) -> str:
                    calls.append(plain)
                    return keyring_of(bind.dialect).encrypt(plain)

                # A value already sealed is left as it is (it is a `fernet:` string, sealed again
                # would nest): unseal first, with no key needed when nothing is sealed.
                plain = _unsealed(value, is_actions, bind)
                sealed = seal_actions(plain, encrypt) if is_actions else seal_config(plain, encrypt)
                if not calls or json.dumps(sealed) == json.dumps(value):
                    continue
            else:
                if PREFIX not in json.dumps(value):
                    continue
                sealed = _unsealed(value, is_actions, bind)
            bind.execute(sa.update(rows).where(rows.c.uuid == row["uuid"]).values({column: sealed}))


def _unsealed(value: Any, is_actions: bool, bind: sa.Connection) -> Any:
    if PREFIX not in json.dumps(value):
        return value

    def decrypt(stored: str) -> str:
        return keyring_of(bind.dialect).decrypt(stored)

    return unseal_actions(value, decrypt) if is_actions else unseal_config(value, decrypt)


def upgrade() -> None:
    _rewrite(forward=True)


def downgrade() -> None:
    _rewrite(forward=False)
