"""Connector tests: fake model servers of their own (each with its own key), and helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply


@pytest.fixture
async def provider_a(allow_model_requests: None) -> AsyncIterator[FakeLLM]:
    """A workspace's own model server: key `sk-alpha-123456`, answers "from alpha"."""
    async with FakeLLM(default=Reply(text="from alpha")) as fake:
        fake.api_key = "sk-alpha-123456"
        yield fake


@pytest.fixture
async def provider_b(allow_model_requests: None) -> AsyncIterator[FakeLLM]:
    """Another workspace's: key `sk-bravo-654321`, answers "from bravo"."""
    async with FakeLLM(default=Reply(text="from bravo")) as fake:
        fake.api_key = "sk-bravo-654321"
        yield fake


async def create_connector(tenant: Tenant, **body: Any) -> httpx.Response:
    body = {"name": body.get("slug", "c"), **body}
    return await tenant.client.post("/v1/connection/connectors", json=body)


async def connect(tenant: Tenant, fake: FakeLLM, slug: str = "mine", **extra: Any) -> dict[str, Any]:
    """An `openaiCompatible` connector to `fake`, with its key; the connector as answered."""
    config = {"baseUrl": fake.openai_base_url, "apiKey": fake.api_key, **extra.pop("config", {})}
    response = await create_connector(tenant, slug=slug, integrationSlug="openaiCompatible", config=config, **extra)
    assert response.status_code == 200, response.text
    return response.json()["connector"]
