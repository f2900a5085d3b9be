"""Operations routes, outside the Cargo API: `GET /readyz` (the database, the broker and, when
configured, Temporal answer) and `GET /metrics` (Prometheus' text format, see metrics.py).

`/healthz` (in app.py) says the process is up; `/readyz` says it can serve: each check runs with a
short timeout, and a 503 names the checks that failed (never a URL or a credential)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from .. import metrics
from ..state import AppState
from .deps import State

__all__ = ["READY_TIMEOUT", "ops_router"]

log = logging.getLogger(__name__)

READY_TIMEOUT = 2.0
"""Seconds one readiness check may take before it counts as failed."""
_PROBE = "readyz-probe"  # a stream id no run uses: `exists` is one round trip to the broker


async def _database(state: AppState) -> None:
    async with state.engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


async def _broker(state: AppState) -> None:
    await state.broker.exists(_PROBE)


async def _temporal(state: AppState) -> None:
    ready: Callable[[], Awaitable[None]] = state.executor.ready  # type: ignore[attr-defined]
    await ready()


_CHECKS: dict[str, Callable[[AppState], Awaitable[None]]] = {"database": _database, "broker": _broker}


def _checks(state: AppState) -> dict[str, Callable[[AppState], Awaitable[None]]]:
    """The temporal frontend is checked too when turns run on Temporal."""
    return {**_CHECKS, "temporal": _temporal} if state.settings.temporal_address else _CHECKS


async def _run(name: str, check: Callable[[AppState], Awaitable[None]], state: AppState) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(state), READY_TIMEOUT)
    except TimeoutError:
        return {"status": "failed", "error": f"no answer within {READY_TIMEOUT:g}s"}
    except Exception as exc:  # any failure of the dependency is "not ready", said by its kind only
        log.warning("readiness check %s failed: %s", name, type(exc).__name__)
        return {"status": "failed", "error": type(exc).__name__}
    return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}


def ops_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/readyz")
    async def readyz(state: State) -> JSONResponse:
        checks_of = _checks(state)
        names = list(checks_of)
        results = await asyncio.gather(*(_run(name, checks_of[name], state) for name in names))
        checks = dict(zip(names, results, strict=True))
        failed = [name for name, result in checks.items() if result["status"] != "ok"]
        if failed:
            body = {"status": "unavailable", "failed": failed, "checks": checks}
            return JSONResponse(body, status_code=503, headers={"cache-control": "no-store"})
        return JSONResponse({"status": "ok", "checks": checks}, headers={"cache-control": "no-store"})

    @router.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE_LATEST)

    return router
