"""Fixtures: real servers on 127.0.0.1. The app is the real factory served by uvicorn on an
ephemeral port; the database is SQLite (always) or PostgreSQL + Redis (when their URLs are set);
models are reached through a fake OpenAI-compatible server speaking HTTP.

Every test runs on one event loop for the session (pyproject's `asyncio_default_*_loop_scope`),
so servers can outlive a test:
- `server` (and `allowed`, and `shared_server(...)` for other settings) is one server per backend
  and settings for the whole session; each test gets a fresh workspace on it (`tenant`), and at
  its end the turns and background tool runs it left are stopped and the tools it registered
  forgotten. A test that needs a server of its own builds one with `make_settings` +
  `start_server` (a fresh database: a copy of a SQLite file migrated once per session, or the
  shared PostgreSQL database emptied).
- `fake_llm` / `llm` is one fake model server for the session, reset before and after each test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import sqlalchemy as sa

from cargohold.settings import ModelPrice, Settings

if TYPE_CHECKING:
    # Imported where used: xdist's controller process, which only hands tests to its workers,
    # loads this file too, and need not load the app (seconds of CPU while the workers start).
    from .fakes.fake_llm import FakeLLM
    from .harness import Server

XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
"""`gw0`, `gw1`... when pytest-xdist runs the suite in several processes (pyproject's `-n`), else None."""


def _worker_database_url(url: str, worker: str) -> str:
    """`<database>_<worker>`: each xdist worker empties and migrates a PostgreSQL database of its own."""
    parsed = sa.make_url(url)
    if parsed.database and not parsed.database.endswith(f"_{worker}"):
        parsed = parsed.set(database=f"{parsed.database}_{worker}")
    return parsed.render_as_string(hide_password=False)


if XDIST_WORKER and os.environ.get("CARGOHOLD_TEST_DATABASE_URL"):
    # Set before anything reads it: fixtures, other conftests and the child processes tests start.
    os.environ["CARGOHOLD_TEST_DATABASE_URL"] = _worker_database_url(
        os.environ["CARGOHOLD_TEST_DATABASE_URL"], XDIST_WORKER
    )

PG_URL = os.environ.get("CARGOHOLD_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("CARGOHOLD_TEST_REDIS_URL")
PG_DATA_DIR = Path(tempfile.gettempdir()) / f"cargohold-tests-pg-{os.getpid()}"
PG_SECRET_KEY = "cargohold-tests-secret-key-for-postgres"
TEST_PRICES = {"gpt-test": ModelPrice(input=1.0, output=2.0), "*": ModelPrice(input=0.5, output=0.5)}


async def _create_database(url: str) -> None:
    """Create the PostgreSQL database of `url` when it is missing (an xdist worker's own)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    parsed = sa.make_url(url)
    admin = create_async_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            found = await conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
            if found.first() is None:
                # Another run may create it meanwhile: fine; anything else shows at the first test.
                with suppress(sa.exc.DBAPIError):
                    await conn.execute(sa.text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        await admin.dispose()


DEFAULT_WORKERS = 2
"""xdist worker processes for a run of the suite (or of directories): on CI's 2-core machine most of
the suite waits on sockets and child processes: with two workers it took 575 s (at a load average
of 12, the machine shared), against 15-21 minutes serially."""


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """How many xdist worker processes `-n auto` (pyproject's addopts) starts: `CARGOHOLD_TEST_WORKERS`
    if set (0: serial, in this process); else 2, unless the run names only test files or tests
    (`pytest tests/api/test_chats.py`, `...::test_x`), where starting workers costs more than it
    gains."""
    configured = os.environ.get("CARGOHOLD_TEST_WORKERS")
    if configured:
        return int(configured)
    args = [a for a in config.args if not a.startswith("-")]
    if args and all("::" in a or a.endswith(".py") for a in args):
        return 0
    return DEFAULT_WORKERS


def pytest_configure(config: pytest.Config) -> None:
    if XDIST_WORKER and PG_URL:
        import asyncio

        asyncio.run(_create_database(PG_URL))


@pytest.fixture(scope="session", autouse=True)
def _refuse_model_requests() -> None:
    """Model requests are refused unless a test asks for the fake model server (`llm`), as in
    pydantic-ai's own suite: a test that reaches a provider by accident fails at once."""
    from pydantic_ai import models

    models.ALLOW_MODEL_REQUESTS = False


ONE_WORKER_MODULES = (
    "tests/web/",
    "tests/caps/",
    "tests/capabilities/test_code_interpreter.py",
    "tests/drills/test_temporal.py",
)
"""Modules whose servers (or Temporal cluster, or browser) are module-scoped fixtures: under xdist
each runs whole on one worker (`ModuleGroups`), so its fixtures start once. tests/test_xdist_groups.py
fails if a module with such a fixture is missing here."""

SLOW_FIRST = ("tests/drills/",)
"""Modules whose tests take the longest (one drill takes minutes): collected first, so that under
xdist they start first and the short tests fill the workers' ends, instead of one drill starting
last on one worker while the other idles."""


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0].split("@", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scheduler, with each module of `ONE_WORKER_MODULES` one unit of work (handed whole
    to one worker) and every other test a unit of its own.

    Not `@pytest.mark.xdist_group` + `--dist loadgroup`: with pytest 9 that mark does nothing
    (xdist 3.8 tags a grouped test by assigning `item._nodeid`, which pytest 9's `Item.nodeid` no
    longer reads), so each test went to whichever worker was free, and a module's servers started
    on both workers, and again on one each time its tests resumed after another module's."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = module_of(nodeid)
            return module if module.startswith(ONE_WORKER_MODULES) else nodeid

    # Units of many tests (the grouped modules) are handed out first, then single tests in
    # collection order (`--loadscope-reorder`, xdist's default), so the drills come next.
    return ModuleGroups(config, log)


def has_module_fixture(item: pytest.Item) -> bool:
    """Whether the test uses one of the suite's own fixtures scoped wider than a test (then its
    module belongs in `ONE_WORKER_MODULES`: tests/test_xdist_groups.py checks)."""
    info = getattr(item, "_fixtureinfo", None)
    for defs in info.name2fixturedefs.values() if info else ():
        fixture = defs[-1]
        if fixture.scope in ("class", "module", "package") and fixture.func.__module__.startswith("tests."):
            return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "backend" in getattr(item, "fixturenames", ()) and "postgres" in item.name:
            item.add_marker(pytest.mark.postgres)
    # Stable: each module's tests stay together and in their order.
    items.sort(key=lambda item: not item.nodeid.startswith(SLOW_FIRST))


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres" and not (PG_URL and REDIS_URL):
        pytest.skip("CARGOHOLD_TEST_DATABASE_URL and CARGOHOLD_TEST_REDIS_URL are not set")
    return request.param


def settings_values(backend: str, database: Path, prefix: str, fake: FakeLLM) -> dict[str, Any]:
    """The settings every test server starts from: a SQLite file or the PostgreSQL database (with a
    Redis key prefix of its own), models at the fake model server."""
    if backend == "postgres":
        assert PG_URL
        base: dict[str, Any] = {
            "database_url": PG_URL,
            "redis_url": REDIS_URL,
            "redis_prefix": prefix,
            "secret_key": PG_SECRET_KEY,  # PostgreSQL needs one (SQLite generates its own)
        }
    else:
        base = {"database_url": f"sqlite+aiosqlite:///{database}", "redis_url": None}
    return {
        **base,
        "bootstrap": False,
        # Files, sandbox directories and keys stay beside the test's database, never in the
        # per-user data directory (two runs on one machine must not share it).
        # PostgreSQL servers share one database, so one blob store too (any server's indexer may
        # claim a file another server received).
        "data_dir": PG_DATA_DIR if backend == "postgres" else database.parent / f"{database.stem}-data",
        "openai_api_key": "test-key",
        "openai_base_url": fake.openai_base_url,
        "anthropic_api_key": "test-key",
        "anthropic_base_url": fake.anthropic_base_url,
        "default_model": "openai:gpt-test",
        "offline_token_delay": 0.0,
        "keepalive_seconds": 5.0,
        "model_prices": TEST_PRICES,
        "builtin_tools": [],
        "model_max_retries": 0,
    }


_MIGRATED: set[str] = set()


async def _migrate(url: str) -> None:
    """Migrate the shared PostgreSQL database (once per test session)."""
    if url in _MIGRATED:
        return
    from cargohold.crypto import load_keyring
    from cargohold.db.engine import make_engine
    from cargohold.db.migrate import upgrade

    # The key: a database left with rows by an earlier run may have secrets for a migration to encrypt.
    engine = make_engine(url, keyring=load_keyring(PG_SECRET_KEY, url))
    try:
        await upgrade(engine)
        _MIGRATED.add(url)
    finally:
        await engine.dispose()


async def _truncate(url: str) -> None:
    """Empty every table of the shared PostgreSQL database (migrated once per test session)."""
    from cargohold.db.engine import make_engine
    from cargohold.db.tables import Base

    await _migrate(url)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            # A shared server's connection left inside a transaction would hold this up: fail, never hang.
            await conn.execute(sa.text("SET LOCAL lock_timeout = '30s'"))
            tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
            await conn.execute(sa.text(f"TRUNCATE {tables} CASCADE"))
    finally:
        await engine.dispose()


async def _forget_redis_keys(prefixes: list[str]) -> None:
    import redis.asyncio as redis

    assert REDIS_URL
    client = redis.from_url(REDIS_URL)
    try:
        for prefix in prefixes:
            keys = [k async for k in client.scan_iter(f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()


SHARED_QUIET = {"reaper_interval_seconds": 3600.0, "index_poll_seconds": 3600.0, "scheduler_enabled": False}
"""A shared server outlives the tests that use it, and on PostgreSQL it shares the database with
each test's own servers: its reaper, file indexer and scheduler must not take their rows (a shared
server's indexer claimed a file another server had stored in its own directory and failed it,
FileNotFoundError; its reaper reaped the dead turn a reaper test had made for its own server; its
scheduler could fire the ticks a schedules test fires itself). It still indexes at once what is
uploaded to it (an upload wakes its indexer)."""


class Shared:
    """What the test session shares, on the session's event loop: one fake model server, one
    migrated SQLite file to copy, and one server per backend and settings (each started when a
    test first asks for it, all stopped at the end)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.fake: FakeLLM | None = None
        self.servers: dict[tuple[str, str], Server] = {}
        self.stack = AsyncExitStack()
        self.prefixes: list[str] = []
        self.template: Path | None = None

    async def fake_llm(self) -> FakeLLM:
        if self.fake is None:
            from .fakes.fake_llm import FakeLLM

            self.fake = await self.stack.enter_async_context(FakeLLM())
        return self.fake

    async def sqlite_copy(self, path: Path) -> None:
        """A SQLite database at `path` with every migration applied: a copy of one migrated once."""
        if self.template is None:
            from cargohold.db.engine import make_engine
            from cargohold.db.migrate import upgrade

            template = self.tmp / "migrated.db"
            engine = make_engine(f"sqlite+aiosqlite:///{template}")
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()
            self.template = template
        shutil.copy(self.template, path)  # with its mode (0600)

    async def server(self, backend: str, overrides: dict[str, Any]) -> Server:
        from .harness import start_server

        key = (backend, repr(sorted(overrides.items())))
        if key not in self.servers:
            prefix = f"cargohold-test-shared-{uuid.uuid4().hex[:12]}"
            database = self.tmp / f"shared-{len(self.servers)}.db"
            if backend == "postgres":
                assert PG_URL
                await _migrate(PG_URL)
                self.prefixes.append(prefix)
            else:
                await self.sqlite_copy(database)
            fake = await self.fake_llm()
            settings = Settings(**{**settings_values(backend, database, prefix, fake), **SHARED_QUIET, **overrides})
            self.servers[key] = await self.stack.enter_async_context(start_server(settings))
        return self.servers[key]

    async def close(self) -> None:
        await self.stack.aclose()
        if self.prefixes and REDIS_URL:
            await _forget_redis_keys(self.prefixes)


@pytest.fixture(scope="session")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Shared]:
    state = Shared(tmp_path_factory.mktemp("shared"))
    try:
        yield state
    finally:
        await state.close()


@pytest.fixture
async def fake_llm(shared: Shared) -> AsyncIterator[FakeLLM]:
    """The fake OpenAI/Anthropic server the settings point at (one for the session, reset for each
    test); requests to it stay refused."""
    fake = await shared.fake_llm()
    fake.reset()
    yield fake
    fake.reset()  # lets go of the replies this test left hanging


@pytest.fixture
def allow_model_requests() -> Iterator[None]:
    """Model requests allowed for this test (it talks to a fake model server on 127.0.0.1)."""
    from pydantic_ai import models

    models.ALLOW_MODEL_REQUESTS = True
    try:
        yield
    finally:
        models.ALLOW_MODEL_REQUESTS = False


@pytest.fixture
def llm(fake_llm: FakeLLM, allow_model_requests: None) -> FakeLLM:
    """The fake model server, with model requests allowed for this test."""
    return fake_llm


@pytest.fixture
async def make_settings(
    backend: str, tmp_path: Path, fake_llm: FakeLLM, shared: Shared
) -> AsyncIterator[Callable[..., Settings]]:
    """Settings for a server of the test's own: its own SQLite file (already migrated), or the
    shared PostgreSQL (emptied first) with a Redis key prefix of its own."""
    prefix = f"cargohold-test-{uuid.uuid4().hex[:12]}"
    database = tmp_path / "cargohold.db"
    if backend == "postgres":
        assert PG_URL
        await _truncate(PG_URL)
    else:
        await shared.sqlite_copy(database)
    base = settings_values(backend, database, prefix, fake_llm)

    def make(**overrides: Any) -> Settings:
        return Settings(**{**base, **overrides})

    yield make
    if backend == "postgres" and REDIS_URL:
        await _forget_redis_keys([prefix])


SharedServer = Callable[..., Awaitable["Server"]]


@pytest.fixture
async def shared_server(request: pytest.FixtureRequest, backend: str, shared: Shared) -> AsyncIterator[SharedServer]:
    """`await shared_server(**overrides)`: the session's server of this backend with these settings
    (over `make_settings`' defaults). A test gets a fresh workspace on it (`make_tenant`); at its end
    the turns and tool runs it left are stopped and the tools it registered are forgotten."""
    if "make_settings" in request.fixturenames:
        # Set up first: on PostgreSQL it empties the database, which must not take this test's tenants.
        request.getfixturevalue("make_settings")
    used: list[Server] = []
    registered: list[dict[str, Any]] = []

    async def get(**overrides: Any) -> Server:
        srv = await shared.server(backend, overrides)
        if srv not in used:
            used.append(srv)
            registered.append(dict(srv.state.tools.tools))
        return srv

    yield get
    for srv, tools in zip(used, registered, strict=True):
        await _settle(srv)
        srv.state.tools.tools.clear()
        srv.state.tools.tools.update(tools)


async def _settle(srv: Server) -> None:
    """Stop what a test left running on a shared server, as stopping its own server would have."""
    executor = srv.state.executor
    shutdown = getattr(executor, "shutdown", None)
    if shutdown is not None:
        await shutdown()
    await srv.state.tool_runs.shutdown()  # type: ignore[attr-defined]


@pytest.fixture
async def server(shared_server: SharedServer) -> Server:
    """The session's server of this backend (default test settings)."""
    return await shared_server()


class Tenant:
    """A workspace with a token, and an HTTP client that uses it."""

    def __init__(self, workspace_uuid: uuid.UUID, user_uuid: uuid.UUID, client: httpx.AsyncClient) -> None:
        self.workspace_uuid = workspace_uuid
        self.user_uuid = user_uuid
        self.client = client


MakeTenant = Callable[["Server"], Awaitable[Tenant]]


@pytest.fixture
async def make_tenant() -> AsyncIterator[MakeTenant]:
    clients: list[httpx.AsyncClient] = []

    async def make(srv: Server, name: str = "acme") -> Tenant:
        from cargohold.store.workspaces import create_token, create_workspace

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
async def allowed(shared_server: SharedServer) -> Server:
    """A server that may call 127.0.0.0/8 (the test's own webhook and MCP servers)."""
    return await shared_server(allow_private_urls="127.0.0.0/8")


@pytest.fixture
async def owner(allowed: Server, make_tenant: MakeTenant) -> Tenant:
    """A tenant of the `allowed` server."""
    return await make_tenant(allowed)
