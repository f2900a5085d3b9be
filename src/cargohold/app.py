"""`create_app(settings)`: the FastAPI app. Resources open in the lifespan; nothing at import."""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from . import __version__
from .api import agents, chats, connection, files, mcp_clients, mcp_servers, messages, releases, storage, tools
from .api.body import BodyLimit, check_request
from .api.capabilities import capabilities_router
from .api.cors import install_cors
from .api.docs import docs_router
from .api.errors import install_error_handlers
from .api.mcp_host import McpHost
from .api.ops import ops_router
from .api.web import web_router
from .bootstrap import bootstrap
from .crypto import keyring_from
from .db.engine import make_engine, make_reader_engine, make_session_factory
from .db.migrate import upgrade
from .files.blobs import make_blob_store
from .jobs.executors import make_executor, start_scheduler
from .jobs.indexing import start_indexer
from .jobs.reaper import reaper_loop
from .jobs.tool_runs import BackgroundToolRuns
from .logs import install_log_hygiene
from .metrics import MetricsMiddleware
from .runtime.models import ModelRegistry
from .runtime.outbound import AllowList, guarded_client
from .runtime.plugins import Plugins
from .runtime.tools import ToolRegistry
from .services.connectors import open_connectors
from .settings import Settings
from .state import AppState
from .stream import make_broker
from .telemetry import Tracing

__all__ = ["create_app"]


def _announce_token(token: str) -> None:
    print(
        "\n  cargohold: created the default workspace. Its API token (shown once, stored hashed):\n\n"
        f"    {token}\n\n  Use it as `Authorization: Bearer <token>`.\n",
        file=sys.stderr,
        flush=True,
    )


def _without_422(app: FastAPI) -> None:
    """Validation errors are answered 400 `{errorMessage}` (documented on every route), never 422,
    so FastAPI's 422 entries are left out of the OpenAPI document."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    if isinstance(operation, dict):
                        operation.get("responses", {}).pop("422", None)
            components = schema.get("components", {}).get("schemas", {})
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _settle_heap() -> None:
    """Once started: everything allocated so far (modules, the schema, pydantic's validators) lives
    as long as the process, so it leaves the cyclic GC's generations (`gc.freeze`) and no full
    collection walks it again; the young generation is collected 10x less often, as a turn makes
    thousands of short-lived objects (bench/RESULTS.md, "Faster by construction")."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(7000, 20, 20)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    install_log_hygiene()
    mcp_host = McpHost()  # hosted MCP servers: its session manager runs for the app's life

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, keyring=keyring_from(settings))
        await upgrade(engine)
        sessions = make_session_factory(engine)
        if settings.bootstrap and (token := await bootstrap(sessions)):
            _announce_token(token)
        broker = make_broker(settings.redis_url, settings.redis_prefix, settings.stream_retention_seconds)
        await broker.start()
        outbound = AllowList.parse(settings.allow_private_urls)
        state = AppState(
            settings,
            engine,
            sessions,
            broker,
            ModelRegistry(settings),
            ToolRegistry(settings.builtin_tools),
            Plugins.load(),
            outbound,
            guarded_client(outbound, timeout=settings.outbound_timeout),
            tool_runs := BackgroundToolRuns(sessions),
            make_session_factory(reader := make_reader_engine(settings.database_url, engine)),
        )
        state.blobs = make_blob_store(settings)  # files (issue 12): before the turns' deps, which store chat files
        executor = state.executor = await make_executor(state)
        limiter = open_connectors(state)
        app.state.cargohold = state
        tracing = Tracing(settings)  # OpenTelemetry traces of turns, when an OTLP endpoint is set
        tracing.start()  # last: a start that fails above leaves pydantic-ai uninstrumented
        reaper = asyncio.create_task(reaper_loop(state), name="lease-reaper")
        indexer = await start_indexer(state)  # files (issue 12): blob store + background indexing
        scheduler = start_scheduler(state)  # in process, or Temporal's schedules kept in step (issue 13)
        _settle_heap()
        try:
            async with mcp_host.run():
                yield
        finally:
            for job in (reaper, scheduler):
                if job is not None:
                    job.cancel()
                    with suppress(asyncio.CancelledError):
                        await job
            await indexer.stop()
            await executor.shutdown()
            await tool_runs.shutdown()
            await limiter.aclose()
            await state.http.aclose()
            await broker.close()
            if reader is not engine:
                await reader.dispose()
            await engine.dispose()
            await asyncio.to_thread(tracing.stop)

    app = FastAPI(
        title="cargohold",
        version=__version__,
        summary="Self-hostable server for AI agents that chat: the AI section of the Cargo API.",
        lifespan=lifespan,
        docs_url=None,  # served by docs_router with local assets; ReDoc (CDN only) is off
        redoc_url=None,
        dependencies=[Depends(check_request)],  # every body checked once, before any model or store
    )
    uploads = dict.fromkeys(files.UPLOAD_PATHS, settings.max_upload_bytes)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, uploads=uploads)
    app.add_middleware(MetricsMiddleware)
    install_cors(app, settings.cors_origins)  # outermost: preflights answered before anything else
    install_error_handlers(app)
    app.include_router(chats.router)
    app.include_router(messages.router)
    app.include_router(agents.router)
    app.include_router(releases.router)
    app.include_router(tools.router)
    app.include_router(mcp_clients.router)
    app.include_router(mcp_servers.router)
    app.router.routes.append(mcp_host.route())
    app.include_router(storage.router)
    app.include_router(connection.router)
    app.include_router(files.router)
    app.include_router(capabilities_router())
    app.include_router(web_router())
    app.include_router(ops_router())
    app.include_router(docs_router(app.title))

    _without_422(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
