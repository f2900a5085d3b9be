"""Fixtures: real servers on 127.0.0.1. The app is the real factory served by uvicorn on an
ephemeral port; the database is SQLite (always) or PostgreSQL + Redis (when their URLs are set);
models are reached through a fake OpenAI-compatible server speaking HTTP."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic_ai import models as pydantic_ai_models

from cargohold.db.tables import Base
from cargohold.settings import ModelPrice, Settings
from cargohold.store.workspaces import create_token, create_workspace

from .fakes.fake_llm import FakeLLM
from .harness import Server, start_server

# Model requests are refused unless a test asks for the fake model server (`llm`), as in
# pydantic-ai's own suite: a test that reaches a provider by accident fails at once.
pydantic_ai_models.ALLOW_MODEL_REQUESTS = False

PG_URL = os.environ.get("CARGOHOLD_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("CARGOHOLD_TEST_REDIS_URL")
PG_SECRET_KEY = "cargohold-tests-secret-key-for-postgres"
TEST_PRICES = {"gpt-test": ModelPrice(input=1.0, output=2.0), "*": ModelPrice(input=0.5, output=0.5)}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "backend" in getattr(item, "fixturenames", ()) and "postgres" in item.name:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not (PG_URL and REDIS_URL):
        pytest.skip("CARGOHOLD_TEST_DATABASE_URL and CARGOHOLD_TEST_REDIS_URL are not set")
    return request.param


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeLLM]:
    """The fake OpenAI/Anthropic server the settings point at; requests to it stay refused."""
    async with FakeLLM() as fake:
        yield fake


@pytest.fixture
def allow_model_requests() -> Iterator[None]:
    """Model requests allowed for this test (it talks to a fake model server on 127.0.0.1)."""
    pydantic_ai_models.ALLOW_MODEL_REQUESTS = True
    try:
        yield
    finally:
        pydantic_ai_models.ALLOW_MODEL_REQUESTS = False


@pytest.fixture
def llm(fake_llm: FakeLLM, allow_model_requests: None) -> FakeLLM:
    """The fake model server, with model requests allowed for this test."""
    return fake_llm


_MIGRATED: set[str] = set()


async def _truncate(url: str) -> None:
    """Empty every table of the shared PostgreSQL database (migrated once per test session)."""
    from cargohold.crypto import load_keyring
    from cargohold.db.engine import make_engine
    from cargohold.db.migrate import upgrade

    # The key: a database left with rows by an earlier run may have secrets for a migration to encrypt.
    engine = make_engine(url, keyring=load_keyring(PG_SECRET_KEY, url))
    try:
        if url not in _MIGRATED:
            await upgrade(engine)
            _MIGRATED.add(url)
        async with engine.begin() as conn:
            tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
            await conn.execute(sa.text(f"TRUNCATE {tables} CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def make_settings(backend: str, tmp_path: Any, fake_llm: FakeLLM) -> AsyncIterator[Callable[..., Settings]]:
    """Settings for one test: its own SQLite file, or the shared PostgreSQL (emptied first) with a
    Redis key prefix of its own."""
    prefix = f"cargohold-test-{uuid.uuid4().hex[:12]}"
    if backend == "postgres":
        assert PG_URL
        await _truncate(PG_URL)
        base: dict[str, Any] = {
            "database_url": PG_URL,
            "redis_url": REDIS_URL,
            "redis_prefix": prefix,
            "secret_key": PG_SECRET_KEY,  # PostgreSQL needs one (SQLite generates its own)
        }
    else:
        base = {"database_url": f"sqlite+aiosqlite:///{tmp_path}/cargohold.db", "redis_url": None}

    def make(**overrides: Any) -> Settings:
        values = {
            **base,
            "bootstrap": False,
            "openai_api_key": "test-key",
            "openai_base_url": fake_llm.openai_base_url,
            "anthropic_api_key": "test-key",
            "anthropic_base_url": fake_llm.anthropic_base_url,
            "default_model": "openai:gpt-test",
            "offline_token_delay": 0.0,
            "keepalive_seconds": 5.0,
            "model_prices": TEST_PRICES,
            "builtin_tools": [],
            "model_max_retries": 0,
            **overrides,
        }
        return Settings(**values)

    yield make
    if backend == "postgres" and REDIS_URL:
        import redis.asyncio as redis

        client = redis.from_url(REDIS_URL)
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
async def server(make_settings: Callable[..., Settings]) -> AsyncIterator[Server]:
    async with start_server(make_settings()) as srv:
        yield srv


class Tenant:
    """A workspace with a token, and an HTTP client that uses it."""

    def __init__(self, workspace_uuid: uuid.UUID, user_uuid: uuid.UUID, client: httpx.AsyncClient) -> None:
        self.workspace_uuid = workspace_uuid
        self.user_uuid = user_uuid
        self.client = client


MakeTenant = Callable[[Server], Awaitable[Tenant]]


@pytest.fixture
async def make_tenant() -> AsyncIterator[MakeTenant]:
    clients: list[httpx.AsyncClient] = []

    async def make(srv: Server, name: str = "acme") -> Tenant:
        async with srv.state.sessions() as session, session.begin():
            workspace, user = await create_workspace(session, name)
            token = await create_token(session, user)
        client = httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        clients.append(client)
        return Tenant(workspace.uuid, user.uuid, client)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def tenant(server: Server, make_tenant: MakeTenant) -> Tenant:
    return await make_tenant(server)


@pytest.fixture
async def allowed(make_settings: Callable[..., Settings]) -> AsyncIterator[Server]:
    """A server that may call 127.0.0.0/8 (the test's own webhook and MCP servers)."""
    async with start_server(make_settings(allow_private_urls="127.0.0.0/8")) as srv:
        yield srv


@pytest.fixture
async def owner(allowed: Server, make_tenant: MakeTenant) -> Tenant:
    """A tenant of the `allowed` server."""
    return await make_tenant(allowed)
