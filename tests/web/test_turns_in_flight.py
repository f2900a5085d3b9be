"""A turn in flight, in a real browser: reloading the page re-attaches to the stream and sees the
turn finish; "Stop" cancels it. The offline model is slowed (a word every 0.3 s, about 10 s per
answer) so the turn is surely still running when the test acts; every wait is on a condition."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from ..serve_process import Served
from .conftest import open_playground

pytestmark = pytest.mark.asyncio(loop_scope="module")

OFFLINE_TOKEN_DELAY = 0.3
LAST_SENTENCE = "Name one, for example ask me to use calculate."
TURN_TIMEOUT = 60_000
"""Milliseconds to wait for a whole slowed answer (~10 s unloaded) on a busy machine."""


async def start_turn(page: Page, served: Served, text: str) -> None:
    await open_playground(page, served)
    box = page.get_by_role("textbox", name="Message")
    await box.fill(text)
    await box.press("Enter")
    # The first words have streamed in; the rest is still to come.
    await expect(page.get_by_role("article", name="Assistant message")).to_contain_text("You said:")
    await expect(page.get_by_role("status")).to_contain_text("The assistant is answering")


async def assistant_message(api: httpx.AsyncClient, chat_uuid: str) -> dict:
    messages = (await api.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()["messages"]
    return [m for m in messages if m["type"] == "assistant"][-1]


def chat_of(page: Page) -> str:
    match = re.search(r"chat=([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


class TestReload:
    async def test_reload_mid_turn_re_attaches_and_sees_it_finish(
        self, page: Page, served: Served, api: httpx.AsyncClient
    ) -> None:
        await start_turn(page, served, "tell me a long story")
        chat_uuid = chat_of(page)
        assert (await assistant_message(api, chat_uuid))["status"] in {"pending", "generating"}

        await page.reload()
        # Still running after the reload: the page re-attached to the live stream.
        await expect(page.get_by_role("status")).to_contain_text("The assistant is answering")
        answer = page.get_by_role("article", name="Assistant message")
        await expect(answer).to_have_count(1)
        await expect(answer).to_contain_text(LAST_SENTENCE, timeout=TURN_TIMEOUT)
        await expect(answer).to_contain_text("Credits used:")
        await expect(page.get_by_role("status")).to_contain_text("Turn finished")
        # Replayed from its start once, not appended to what was there.
        text = await answer.inner_text()
        assert text.count("You said:") == 1, text
        assert (await assistant_message(api, chat_uuid))["status"] == "success"


class TestStop:
    async def test_stop_cancels_the_turn(self, page: Page, served: Served, api: httpx.AsyncClient) -> None:
        await start_turn(page, served, "tell me another long story")
        chat_uuid = chat_of(page)

        await page.get_by_role("button", name="Stop", exact=True).click()
        answer = page.get_by_role("article", name="Assistant message")
        await expect(answer).to_contain_text("Stopped.")
        await expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0)
        await expect(answer).not_to_contain_text(LAST_SENTENCE)
        assert (await assistant_message(api, chat_uuid))["status"] == "cancelled"
        chats = page.get_by_role("navigation", name="Chats")
        await expect(chats.get_by_role("button", name=re.compile("stopped"))).to_have_count(1)

        # The chat takes the next message.
        box = page.get_by_role("textbox", name="Message")
        await expect(box).to_be_focused()
        await box.fill("after the stop")
        await box.press("Enter")
        await expect(answer.nth(1)).to_contain_text("You said: “after the stop”")
