"""One server per test module (SQLite, and PostgreSQL + Redis when their URLs are set), its fake
model server, and a fresh workspace per test: the tests here share a server and stay apart by
workspace (or by user, within one)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic_ai import models as pydantic_ai_models

from cargohold.db.tables import User
from cargohold.settings import Settings
from cargohold.store.workspaces import create_token, create_workspace

from ..conftest import PG_SECRET_KEY, PG_URL, REDIS_URL, TEST_PRICES, Tenant, _truncate
from ..fakes.fake_llm import FakeLLM
from ..harness import Server, start_server

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == HERE and "[postgres]" in item.name:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def caps_backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not (PG_URL and REDIS_URL):
        pytest.skip("CARGOHOLD_TEST_DATABASE_URL and CARGOHOLD_TEST_REDIS_URL are not set")
    return str(request.param)


@pytest.fixture(scope="module")
def _model_requests() -> Iterator[None]:
    pydantic_ai_models.ALLOW_MODEL_REQUESTS = True
    try:
        yield
    finally:
        pydantic_ai_models.ALLOW_MODEL_REQUESTS = False


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def caps_llm(_model_requests: None) -> AsyncIterator[FakeLLM]:
    async with FakeLLM() as fake:
        yield fake


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def caps_server(
    request: pytest.FixtureRequest, caps_backend: str, caps_llm: FakeLLM, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    prefix = f"cargohold-caps-{uuid.uuid4().hex[:12]}"
    if caps_backend == "postgres":
        assert PG_URL
        await _truncate(PG_URL)
        base: dict[str, Any] = {
            "database_url": PG_URL,
            "redis_url": REDIS_URL,
            "redis_prefix": prefix,
            "secret_key": PG_SECRET_KEY,
        }
    else:
        base = {
            "database_url": f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('caps')}/cargohold.db",
            "redis_url": None,
        }
    settings = Settings(
        **base,
        bootstrap=False,
        openai_api_key="test-key",
        openai_base_url=caps_llm.openai_base_url,
        default_model=getattr(request.module, "DEFAULT_MODEL", "openai:gpt-test"),
        offline_token_delay=0.0,
        model_prices=TEST_PRICES,
        builtin_tools=[],
        model_max_retries=0,
    )
    async with start_server(settings) as srv:
        yield srv


async def new_tenant(srv: Server, clients: list[httpx.AsyncClient], workspace_uuid: uuid.UUID | None = None) -> Tenant:
    """A new workspace with its first user, or (`workspace_uuid`) another user of that workspace."""
    async with srv.state.sessions() as session, session.begin():
        if workspace_uuid is None:
            _, user = await create_workspace(session, "caps")
        else:
            user = User(uuid=uuid.uuid4(), workspace_uuid=workspace_uuid, name="second")
            session.add(user)
            await session.flush()
        token = await create_token(session, user)
    client = httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    clients.append(client)
    return Tenant(user.workspace_uuid, user.uuid, client)


@pytest_asyncio.fixture(loop_scope="module")
async def clients() -> AsyncIterator[list[httpx.AsyncClient]]:
    opened: list[httpx.AsyncClient] = []
    yield opened
    for client in opened:
        await client.aclose()


@pytest_asyncio.fixture(loop_scope="module")
async def ws(caps_server: Server, clients: list[httpx.AsyncClient]) -> Tenant:
    """A fresh workspace on the module's server."""
    return await new_tenant(caps_server, clients)
