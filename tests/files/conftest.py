"""Files tests: a server whose blob store is the test's own directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from cargohold.settings import Settings

from ..conftest import MakeTenant, Tenant
from ..harness import Server, start_server


@pytest.fixture
def files_settings(make_settings: Callable[..., Settings], tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        return make_settings(**{"files_dir": tmp_path / "blobs", "index_poll_seconds": 0.5, **overrides})

    return make


@pytest.fixture
async def files_server(files_settings: Callable[..., Settings]) -> AsyncIterator[Server]:
    async with start_server(files_settings()) as srv:
        yield srv


@pytest.fixture
async def ours(files_server: Server, make_tenant: MakeTenant) -> Tenant:
    return await make_tenant(files_server, "ours")


@pytest.fixture
async def theirs(files_server: Server, make_tenant: MakeTenant) -> Tenant:
    return await make_tenant(files_server, "theirs")
