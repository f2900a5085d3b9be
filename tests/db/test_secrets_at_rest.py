"""Secrets at rest below the API: migration 0005 on rows written before it (and back), the key
file and the modes of the SQLite files, and PostgreSQL refusing to start without a key."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.dialects import postgresql

from cargohold.crypto import NO_KEY, PREFIX, EncryptedJSON, EncryptedText, SecretKeyError, keyring_from, load_keyring
from cargohold.db.engine import make_engine, make_session_factory
from cargohold.db.migrate import alembic_config
from cargohold.db.tables import Base, Release, Tool
from cargohold.settings import Settings
from cargohold.store.mcp_connections import read_credential

from ..harness import start_server

KEY = "migration-test-key-0123456789"
AUTH = {
    "issuedAt": "2026-11-23T10:00:00Z",
    "accessToken": "at-l3gacy",
    "refreshToken": "rt-l3gacy",
    "id_token": "id-l3gacy",
}
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _as_before(name: str) -> sa.TableClause:
    """A table as revision 0004 had it: the encrypted columns plain, no `credential`."""
    columns = []
    for column in Base.metadata.tables[name].columns:
        if column.name == "credential":
            continue
        kind = column.type
        if isinstance(kind, EncryptedJSON):
            kind = JSON
        elif isinstance(kind, EncryptedText):
            kind = sa.Text()
        columns.append(sa.column(column.name, kind))
    return sa.table(name, *columns)


def _migrate(conn: sa.Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = conn
    current = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() if _has_version(conn) else None
    if current is not None and current > revision:
        command.downgrade(cfg, revision)
    else:
        command.upgrade(cfg, revision)


def _has_version(conn: sa.Connection) -> bool:
    return sa.inspect(conn).has_table("alembic_version")


def _legacy_rows(conn: sa.Connection) -> dict[str, uuid.UUID]:
    now = datetime.now(UTC)
    ids = {name: uuid.uuid4() for name in ("workspace", "tool", "agent", "release", "chat", "message", "connection")}
    ws = ids["workspace"]
    stamps = {"created_at": now, "updated_at": now}
    conn.execute(sa.insert(_as_before("workspaces")).values(uuid=ws, name="w", created_at=now))
    conn.execute(
        sa.insert(_as_before("tools")).values(
            uuid=ids["tool"], workspace_uuid=ws, name="Hook", url="https://hooks.example.com/x", method="POST",
            input_schema={"type": "object"}, headers={"X-Api-Key": "hk-l3gacy"}, signing_secret="whsec_l3gacy",
            **stamps,
        )
    )  # fmt: skip
    conn.execute(
        sa.insert(_as_before("mcp_connections")).values(
            uuid=ids["connection"], workspace_uuid=ws, key="k" * 64, url="https://mcp.example.com/mcp",
            access_token="at2-l3gacy", refresh_token="rt2-l3gacy", needs_reauth=False, **stamps,
        )
    )  # fmt: skip
    client = {"name": "crm", "url": "https://mcp.example.com/mcp", "authentication": AUTH, "disabledToolSlugs": []}
    conn.execute(
        sa.insert(_as_before("agents")).values(
            uuid=ids["agent"], workspace_uuid=ws, name="A", triggers=[], is_read_only=False, **stamps
        )
    )
    lists = {"actions": [], "resources": [], "capabilities": [], "suggested_actions": []}
    conn.execute(
        sa.insert(_as_before("releases")).values(
            uuid=ids["release"], workspace_uuid=ws, agent_uuid=ids["agent"], status="draft", mcp_clients=[client],
            with_reasoning=False, **lists, **stamps,
        )
    )  # fmt: skip
    conn.execute(
        sa.insert(_as_before("chats")).values(
            uuid=ids["chat"], workspace_uuid=ws, slug="c", trigger={"type": "app"}, trigger_type="app",
            credits_used_count=0.0, message_seq=1, **stamps,
        )
    )  # fmt: skip
    conn.execute(
        sa.insert(_as_before("messages")).values(
            uuid=ids["message"], workspace_uuid=ws, chat_uuid=ids["chat"], seq=1, type="assistant", status="success",
            parts=[], mcp_clients=[client, {"name": "open", "url": "https://open.example.com/mcp"}],
            evaluated_tools={}, **lists, **stamps,
        )
    )  # fmt: skip
    return ids


def _raw(conn: sa.Connection, query: str) -> str:
    return json.dumps([[str(v) for v in row] for row in conn.execute(sa.text(query)).all()])


class TestMigration0005:
    async def test_encrypts_and_moves_what_was_stored_in_clear(self, make_settings: Callable[..., Settings]) -> None:
        settings = make_settings(secret_key=KEY)
        engine = make_engine(settings.database_url, keyring=keyring_from(settings))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "0004")
                ids = await conn.run_sync(_legacy_rows)
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "head")
            async with engine.connect() as conn:
                tools = await conn.run_sync(_raw, "SELECT headers, signing_secret FROM tools")
                tokens = await conn.run_sync(
                    _raw, "SELECT credential, access_token, refresh_token FROM mcp_connections"
                )
                held = await conn.run_sync(_raw, "SELECT CAST(mcp_clients AS TEXT) FROM releases")
                held += await conn.run_sync(_raw, "SELECT CAST(mcp_clients AS TEXT) FROM messages")
            assert "l3gacy" not in tools + tokens + held
            assert tools.count(PREFIX) == 2 and tokens.count(PREFIX) == 3  # 2 tokens + 1 moved credential
            assert held.count("credentialKey") == 2 and "open.example.com" in held
            sessions = make_session_factory(engine)
            async with sessions() as session:  # the app reads every one back
                tool = await session.get(Tool, ids["tool"])
                assert tool is not None and tool.headers == {"X-Api-Key": "hk-l3gacy"}
                assert tool.signing_secret == "whsec_l3gacy"
                release = await session.get(Release, ids["release"])
                assert release is not None and release.mcp_clients[0]["authentication"]["accessToken"] == "********"
                key = release.mcp_clients[0]["credentialKey"]
                assert await read_credential(session, ids["workspace"], key, "https://mcp.example.com/mcp") == AUTH
            async with start_server(settings) as srv:  # and a server starts on it (no migration left to run)
                async with srv.state.sessions() as session:
                    tool = await session.get(Tool, ids["tool"])
                    assert tool is not None and tool.signing_secret == "whsec_l3gacy"
            # Down again: everything back in clear, as 0004 read it.
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "0004")
            async with engine.connect() as conn:
                tools = await conn.run_sync(_raw, "SELECT headers, signing_secret FROM tools")
                held = await conn.run_sync(_raw, "SELECT CAST(mcp_clients AS TEXT) FROM releases")
            assert PREFIX not in tools and "hk-l3gacy" in tools and "whsec_l3gacy" in tools
            assert "at-l3gacy" in held and "credentialKey" not in held
        finally:
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "head")
            await engine.dispose()

    async def test_needs_no_key_when_nothing_is_stored(self, tmp_path: Any) -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/empty.db")  # no keyring at all
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "head")
        finally:
            await engine.dispose()


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Any) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


class TestSqliteFiles:
    async def test_database_wal_and_key_are_owner_only(self, tmp_path: Any) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path}/data/cargohold.db"
        settings = Settings(database_url=url, bootstrap=False)
        with umask(0o022):  # a usual umask: files would be world-readable
            async with start_server(settings) as srv:
                async with srv.state.sessions() as session, session.begin():
                    await session.execute(sa.text("SELECT 1"))
                data = tmp_path / "data"
                for name in ("cargohold.db", "cargohold.db-wal", "cargohold.db-shm", "cargohold.key"):
                    assert mode(data / name) == 0o600, name
                key = (data / "cargohold.key").read_text()
            async with start_server(settings):  # a restart keeps the key
                assert (data / "cargohold.key").read_text() == key

    async def test_an_older_world_readable_database_is_tightened(self, tmp_path: Any) -> None:
        path = tmp_path / "old.db"
        path.touch(mode=0o644)
        os.chmod(path, 0o644)
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            assert mode(path) == 0o600 and mode(f"{path}-wal") == 0o600
        finally:
            await engine.dispose()


class TestPostgresNeedsAKey:
    def test_no_key_is_refused_with_a_clear_message(self) -> None:
        with pytest.raises(SecretKeyError, match="CARGOHOLD_SECRET_KEY is not set") as raised:
            load_keyring(None, "postgresql+asyncpg://postgres@127.0.0.1:5432/anything")
        assert str(raised.value) == NO_KEY and "generate_key" in NO_KEY

    async def test_serve_refuses_to_start(self, tmp_path: Any) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}
        env["CARGOHOLD_DATABASE_URL"] = "postgresql+asyncpg://nobody@127.0.0.1:9/none"
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cargohold", "serve", env=env, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        assert proc.returncode == 2 and "CARGOHOLD_SECRET_KEY is not set" in err.decode()
        assert not (tmp_path / "cargohold.key").exists()


class TestMigration0006:
    async def test_seals_pinned_secrets_stored_in_clear(self, make_settings: Callable[..., Settings]) -> None:
        settings = make_settings(secret_key=KEY)
        engine = make_engine(settings.database_url, keyring=keyring_from(settings))
        pinned = [{"kind": "connector", "slug": "api", "config": {"url": "https://x.test", "apiKey": "pk-l3gacy"}}]
        plain_releases = sa.table("releases", sa.column("uuid", sa.Uuid()), sa.column("actions", JSON))
        try:
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "0004")
                ids = await conn.run_sync(_legacy_rows)
                await conn.run_sync(_migrate, "0005")
                await conn.execute(
                    sa.update(plain_releases).where(plain_releases.c.uuid == ids["release"]).values(actions=pinned)
                )
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "head")
            async with engine.connect() as conn:
                held = await conn.run_sync(_raw, "SELECT CAST(actions AS TEXT) FROM releases")
            assert "pk-l3gacy" not in held and PREFIX in held and "https://x.test" in held
            async with make_session_factory(engine)() as session:
                release = await session.get(Release, ids["release"])
                assert release is not None and release.actions == pinned
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "0005")
            async with engine.connect() as conn:
                held = await conn.run_sync(_raw, "SELECT CAST(actions AS TEXT) FROM releases")
            assert "pk-l3gacy" in held and PREFIX not in held
        finally:
            async with engine.begin() as conn:
                await conn.run_sync(_migrate, "head")
            await engine.dispose()
