"""Fixtures of the knowledge tests: one local embedder per session (the model loads once)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cargohold.crypto import load_keyring
from cargohold.db.engine import make_engine, make_session_factory
from cargohold.db.migrate import upgrade
from cargohold.knowledge.embeddings import LocalEmbedder
from cargohold.store.workspaces import create_workspace

from ..conftest import Shared

PG_SECRET_KEY = "cargohold-tests-secret-key-for-postgres"  # as tests/conftest.py


@pytest.fixture(scope="session")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


@dataclass
class IndexDb:
    backend: str
    sessions: async_sessionmaker[AsyncSession]
    workspaces: list[uuid.UUID]


_MIGRATED: set[str] = set()


@pytest.fixture(params=["sqlite", "postgres"])
async def index_db(request: pytest.FixtureRequest, tmp_path, shared: Shared) -> AsyncIterator[IndexDb]:
    """A migrated database (SQLite in a temp dir: a copy of the session's migrated file; or the
    PostgreSQL of CARGOHOLD_TEST_DATABASE_URL) with two fresh workspaces."""
    if request.param == "postgres":
        url = os.environ.get("CARGOHOLD_TEST_DATABASE_URL")
        if not url:
            pytest.skip("CARGOHOLD_TEST_DATABASE_URL is not set")
        engine = make_engine(url, keyring=load_keyring(PG_SECRET_KEY, url))
        if url not in _MIGRATED:
            await upgrade(engine)
            _MIGRATED.add(url)
    else:
        await shared.sqlite_copy(tmp_path / "knowledge.db")
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'knowledge.db'}")
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        workspaces = [(await create_workspace(session, name))[0].uuid for name in ("a", "b")]
    try:
        yield IndexDb(request.param, sessions, workspaces)
    finally:
        await engine.dispose()
