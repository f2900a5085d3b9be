"""secrets at rest: webhook headers and signing secrets, MCP tokens encrypted; MCP credentials out of
releases and messages, into mcp_connections.credential

Values written before are re-written encrypted with the app's keyring (crypto.py: the engine running
the migration carries it; `CARGOHOLD_SECRET_KEY`, or the key file beside a SQLite database). Each
MCP client of a release or a message that holds an `authentication` in clear gets it moved into
the encrypted `mcp_connections` row of its `credentialKey`, and keeps it masked. A database with no
such rows needs no key to migrate.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from cargohold.crypto import PREFIX, Keyring, keyring_of

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

MASK = "********"
NOT_SECRET = frozenset({"issuedAt", "expiresIn", "tokenType", "scope", "clientId"})
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _key(url: str, auth: dict[str, Any]) -> str:
    """store/mcp_connections.py `credential_key`, frozen here as it was when this ran."""
    secret = auth.get("refreshToken") or "access:" + str(auth.get("accessToken") or "")
    return hashlib.sha256(json.dumps([url, auth.get("clientId") or "", str(secret)]).encode()).hexdigest()


class _Lazy:
    """The keyring, asked for only when a row needs it."""

    def __init__(self, bind: sa.Connection) -> None:
        self._bind = bind
        self._keyring: Keyring | None = None

    def __call__(self) -> Keyring:
        if self._keyring is None:
            self._keyring = keyring_of(self._bind.dialect)
        return self._keyring


def _encrypt_columns(bind: sa.Connection, keyring: _Lazy, table: str, columns: tuple[str, ...]) -> None:
    for row in bind.execute(sa.text(f"SELECT uuid, {', '.join(columns)} FROM {table}")).mappings().all():
        values = {c: keyring().encrypt(row[c]) for c in columns if row[c] is not None and not row[c].startswith(PREFIX)}
        if values:
            sets = ", ".join(f"{c} = :{c}" for c in values)
            bind.execute(sa.text(f"UPDATE {table} SET {sets} WHERE uuid = :uuid"), {**values, "uuid": row["uuid"]})


def _move_credentials(bind: sa.Connection, keyring: _Lazy, table: str) -> None:
    rows = sa.table(
        table, sa.column("uuid", sa.Uuid()), sa.column("workspace_uuid", sa.Uuid()), sa.column("mcp_clients", JSON)
    )
    text = sa.cast(rows.c.mcp_clients, sa.Text)
    query = sa.select(rows).where(text.like('%"authentication"%'))
    for row in bind.execute(query).mappings().all():
        clients, changed = [], False
        for client in row["mcp_clients"] or []:
            auth = client.get("authentication") if isinstance(client, dict) else None
            if isinstance(auth, dict) and "credentialKey" not in client and MASK not in auth.values():
                url = str(client.get("url") or "")
                key = _key(url, auth)
                _save(bind, keyring, row["workspace_uuid"], key, url, auth)
                masked = {k: v if k in NOT_SECRET or v in (None, "") else MASK for k, v in auth.items()}
                client = {**client, "authentication": masked, "credentialKey": key}
                changed = True
            clients.append(client)
        if changed:
            bind.execute(sa.update(rows).where(rows.c.uuid == row["uuid"]).values(mcp_clients=clients))


CONNECTIONS = sa.table(
    "mcp_connections",
    *(sa.column(c, sa.Uuid()) for c in ("uuid", "workspace_uuid")),
    *(sa.column(c, sa.Text()) for c in ("key", "url", "credential")),
    sa.column("needs_reauth", sa.Boolean()),
    *(sa.column(c, sa.DateTime(timezone=True)) for c in ("created_at", "updated_at")),
)


def _stored_credential(bind: sa.Connection, workspace_uuid: Any, key: str) -> Any:
    c = CONNECTIONS.c
    query = sa.select(c.uuid, c.credential).where(c.workspace_uuid == workspace_uuid, c.key == key)
    return bind.execute(query).first()


def _save(bind: sa.Connection, keyring: _Lazy, workspace_uuid: Any, key: str, url: str, auth: dict[str, Any]) -> None:
    sealed = keyring().encrypt(json.dumps(auth, separators=(",", ":"), ensure_ascii=False))
    found = _stored_credential(bind, workspace_uuid, key)
    if found is not None:
        if found.credential is None:
            bind.execute(sa.update(CONNECTIONS).where(CONNECTIONS.c.uuid == found.uuid).values(credential=sealed))
        return
    now = datetime.now(UTC)
    stamp = now.replace(tzinfo=None) if bind.dialect.name == "sqlite" else now
    bind.execute(
        sa.insert(CONNECTIONS).values(
            uuid=uuid.uuid4(),
            workspace_uuid=workspace_uuid,
            key=key,
            url=url,
            credential=sealed,
            needs_reauth=False,
            created_at=stamp,
            updated_at=stamp,
        )
    )


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table("mcp_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential", sa.Text(), nullable=True))
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE tools ALTER COLUMN headers TYPE TEXT USING headers::text")
        op.execute("ALTER TABLE tools ALTER COLUMN signing_secret TYPE TEXT")
    # (SQLite keeps its declared types: a column holds any text there.)
    keyring = _Lazy(bind)
    _encrypt_columns(bind, keyring, "tools", ("headers", "signing_secret"))
    _encrypt_columns(bind, keyring, "mcp_connections", ("access_token", "refresh_token"))
    _move_credentials(bind, keyring, "releases")
    _move_credentials(bind, keyring, "messages")


def _decrypt_columns(bind: sa.Connection, keyring: _Lazy, table: str, columns: tuple[str, ...]) -> None:
    for row in bind.execute(sa.text(f"SELECT uuid, {', '.join(columns)} FROM {table}")).mappings().all():
        values = {c: keyring().decrypt(row[c]) for c in columns if row[c] is not None and row[c].startswith(PREFIX)}
        if values:
            sets = ", ".join(f"{c} = :{c}" for c in values)
            bind.execute(sa.text(f"UPDATE {table} SET {sets} WHERE uuid = :uuid"), {**values, "uuid": row["uuid"]})


def _inline_credentials(bind: sa.Connection, keyring: _Lazy, table: str) -> None:
    rows = sa.table(
        table, sa.column("uuid", sa.Uuid()), sa.column("workspace_uuid", sa.Uuid()), sa.column("mcp_clients", JSON)
    )
    text = sa.cast(rows.c.mcp_clients, sa.Text)
    for row in bind.execute(sa.select(rows).where(text.like('%"credentialKey"%'))).mappings().all():
        clients = []
        for client in row["mcp_clients"] or []:
            if isinstance(client, dict) and "credentialKey" in client:
                found = _stored_credential(bind, row["workspace_uuid"], client["credentialKey"])
                client = {k: v for k, v in client.items() if k != "credentialKey"}
                if found is not None and found.credential:
                    client["authentication"] = json.loads(keyring().decrypt(found.credential))
            clients.append(client)
        bind.execute(sa.update(rows).where(rows.c.uuid == row["uuid"]).values(mcp_clients=clients))


def downgrade() -> None:
    bind = op.get_bind()
    keyring = _Lazy(bind)
    _inline_credentials(bind, keyring, "releases")
    _inline_credentials(bind, keyring, "messages")
    _decrypt_columns(bind, keyring, "tools", ("headers", "signing_secret"))
    _decrypt_columns(bind, keyring, "mcp_connections", ("access_token", "refresh_token"))
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE tools ALTER COLUMN headers TYPE JSONB USING headers::jsonb")
        op.execute("ALTER TABLE tools ALTER COLUMN signing_secret TYPE VARCHAR(100)")
    with op.batch_alter_table("mcp_connections", schema=None) as batch_op:
        batch_op.drop_column("credential")
