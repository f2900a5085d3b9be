"""Operations routes as an operator's probes see them: `/readyz` answers 200 while the database
and the broker answer, 503 naming the one that does not."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio as redis

from cargohold.settings import Settings

from ..harness import Server, start_server, wait_until


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def own_redis() -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """A redis-server of this test's own on a free port, so the test can stop it."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"

    async def answers() -> bool:
        client = redis.from_url(url)
        try:
            return bool(await client.ping())
        except redis.ConnectionError:
            return False
        finally:
            await client.aclose()

    await wait_until(answers, timeout=10)
    try:
        yield url, proc
    finally:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


class TestReadyz:
    async def test_ready_when_database_and_broker_answer(self, server: Server) -> None:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            response = await client.get("/readyz")
            assert response.status_code == 200
            body = response.json()
            assert body["status"] == "ok"
            assert set(body["checks"]) == {"database", "broker"}
            assert all(check["status"] == "ok" for check in body["checks"].values())
            assert (await client.get("/healthz")).json() == {"status": "ok"}

    async def test_a_stopped_redis_is_named(
        self, make_settings: Callable[..., Settings], own_redis: tuple[str, Any]
    ) -> None:
        url, proc = own_redis
        settings = make_settings(redis_url=url)
        async with start_server(settings) as srv, httpx.AsyncClient(base_url=srv.base_url) as client:
            assert (await client.get("/readyz")).status_code == 200
            proc.terminate()
            await proc.wait()  # now nothing listens on that port
            response = await client.get("/readyz")
            assert response.status_code == 503
            body = response.json()
            assert body["status"] == "unavailable" and body["failed"] == ["broker"]
            assert body["checks"]["database"]["status"] == "ok"
            assert body["checks"]["broker"]["status"] == "failed"
            assert "redis://" not in response.text and "127.0.0.1" not in response.text  # no URL in the body
            assert (await client.get("/healthz")).status_code == 200  # the process is still up
