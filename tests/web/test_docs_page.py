"""`/docs` in a real browser with nothing but this server: Swagger UI renders the API's operations,
and every request the page makes stays on the server (the `page` fixture fails the test otherwise)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from ..serve_process import Served

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_docs_render_offline(page: Page, served: Served) -> None:
    await page.goto("/docs")
    await expect(page.get_by_role("heading", name=re.compile(r"^cargohold \S+ OAS"))).to_be_visible()
    await expect(page.get_by_text("/v1/ai/messages/stream").first).to_be_visible()
    await page.get_by_text("/v1/ai/chats/list").first.click()  # an operation opens
    await expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
