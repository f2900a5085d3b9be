"""Browser fixtures: one `cargohold serve` per test module (a real process on SQLite, the offline
model at the module's `OFFLINE_TOKEN_DELAY`, the fake Anthropic server for agents that name it),
one Debian Chromium driven by Playwright, and a fresh browser context (so a fresh session storage)
per test.

The tests are skipped, with the reason, only when Chromium is not installed (CI installs it)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, ConsoleMessage, Page, async_playwright, expect

from cargohold.settings import Settings

from ..fakes.fake_llm import FakeLLM
from ..serve_process import Served, serve_env, serve_process

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = Path(os.environ.get("CARGOHOLD_SCREENSHOT") or Path(tempfile.gettempdir()) / "cargohold-playground.png")
"""Where the test run's screenshot goes; `CARGOHOLD_SCREENSHOT=docs/playground.png` refreshes the README's."""

# Waits are on conditions (Playwright's auto-retrying `expect`), with room for a loaded 2-core machine.
expect.set_options(timeout=20_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM is None:
        skip = pytest.mark.skip(reason="Chromium is not installed (apt-get install -y chromium); CI installs it")
        for item in items:
            if Path(str(item.fspath)).parent == Path(__file__).parent:
                item.add_marker(skip)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake_llm() -> AsyncIterator[FakeLLM]:
    """An Anthropic-compatible model for agents that need what the offline model lacks (reasoning)."""
    async with FakeLLM() as fake:
        yield fake


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fake_llm: FakeLLM
) -> AsyncIterator[Served]:
    delay = str(getattr(request.module, "OFFLINE_TOKEN_DELAY", 0.01))
    database = tmp_path_factory.mktemp("web") / "cargohold.db"
    settings = Settings(database_url=f"sqlite+aiosqlite:///{database}", redis_url=None)
    env = serve_env(
        settings,
        CARGOHOLD_BUILTIN_TOOLS='["calculate", "current_time"]',
        CARGOHOLD_OFFLINE_TOKEN_DELAY=delay,
        CARGOHOLD_ANTHROPIC_API_KEY="test-key",
        CARGOHOLD_ANTHROPIC_BASE_URL=fake_llm.anthropic_base_url,
    )
    async with serve_process(env) as srv:
        assert srv.token, f"the first start prints a token:\n{srv.log_tail()}"
        yield srv


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(served: Served) -> AsyncIterator[httpx.AsyncClient]:
    """The same workspace through the API, to set up agents and check what the page did."""
    headers = {"Authorization": f"Bearer {served.token}"}
    async with httpx.AsyncClient(base_url=served.base_url, headers=headers, timeout=30) as client:
        yield client


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        await chromium.close()


@dataclass
class Console:
    """What the page reported: CSP violations and uncaught errors fail the test."""

    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser, served: Served) -> AsyncIterator[Page]:
    context = await browser.new_context(base_url=served.base_url, viewport={"width": 1200, "height": 760})
    tab = await context.new_page()
    console = Console()
    tab.on("console", console.on_console)
    tab.on("pageerror", lambda exc: console.errors.append(f"page error: {exc}"))
    tab.on("request", lambda req: console.requests.append(req.url))
    yield tab
    await context.close()
    refused = [e for e in console.errors if "Content Security Policy" in e or "page error" in e]
    assert not refused, refused
    leaked = [url for url in console.requests if "token=" in url or (served.token and served.token in url)]
    assert not leaked, f"the token went into a URL: {leaked}"
    outside = [url for url in console.requests if not url.startswith(served.base_url)]
    assert not outside, f"requests left the server: {outside}"


async def open_playground(page: Page, served: Served, **fragment: Any) -> None:
    """Open `/` with the token in the fragment (never sent to the server), as the README says."""
    params = "&".join(f"{k}={v}" for k, v in {"token": served.token, **fragment}.items())
    await page.goto(f"/#{params}")
