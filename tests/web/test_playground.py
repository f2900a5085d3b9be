"""The web playground in a real browser (Debian Chromium, Playwright) over a real `cargohold serve`:
what a person sees when they send a message, open an old chat, paste a bad token or pick an agent."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from ..fakes.fake_llm import FakeLLM, Reply
from ..serve_process import Served
from .conftest import SCREENSHOT, open_playground

pytestmark = pytest.mark.asyncio(loop_scope="module")

OFFLINE_TOKEN_DELAY = 0.01


async def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    await box.fill(text)
    await box.press("Enter")


def assistant(page: Page) -> object:
    return page.get_by_role("article", name="Assistant message")


class TestSendMessage:
    async def test_streamed_answer_with_a_tool_call_and_credits(self, page: Page, served: Served) -> None:
        await open_playground(page, served)
        await expect(page.get_by_role("textbox", name="Message")).to_be_focused()
        await send(page, "Please use calculate for 6*7")

        answer = assistant(page)
        tool = answer.get_by_role("region", name="Tool call calculate")
        await expect(tool).to_contain_text("Input")
        await expect(tool).to_contain_text("6*7")
        await expect(tool).to_contain_text("Output")
        await expect(tool).to_contain_text("42")
        await expect(answer).to_contain_text("I called calculate and the result is 42.")
        await expect(answer).to_contain_text(re.compile(r"Credits used: \d"))
        await expect(page.get_by_role("status")).to_contain_text("Turn finished. Credits used:")
        # The chat is listed, newest first, with its agent and the status of its last message.
        chats = page.get_by_role("navigation", name="Chats")
        await expect(chats.get_by_role("listitem").first).to_contain_text("Please use calculate for 6*7")
        await expect(chats.get_by_role("listitem").first).to_contain_text("Built-in model")
        await expect(chats.get_by_role("listitem").first).to_contain_text("answered")
        # The address never kept the token.
        assert "token" not in page.url
        await expect(page.get_by_role("textbox", name="Message")).to_be_focused()

        await send(page, "And now a question with no tool")
        await expect(answer.nth(1)).to_contain_text("You said: “And now a question with no tool”")
        await expect(page.get_by_role("status")).to_contain_text("Turn finished")
        await expect(page.get_by_role("button", name="Stop", exact=True)).to_have_count(0)
        await page.set_viewport_size({"width": 1200, "height": 980})
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT))

    async def test_the_send_button_sends_too(self, page: Page, served: Served) -> None:
        await open_playground(page, served)
        await page.get_by_role("textbox", name="Message").fill("hello from the button")
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(assistant(page)).to_contain_text("You said: “hello from the button”")


class TestErrors:
    async def test_a_failed_tool_call_shows_its_error_and_the_turn_goes_on(self, page: Page, served: Served) -> None:
        await open_playground(page, served)
        await send(page, "use calculate for 1/0")
        tool = assistant(page).get_by_role("region", name="Tool call calculate")
        await expect(tool.get_by_role("heading")).to_contain_text("failed")
        await expect(tool).to_contain_text("division by zero")
        # A tool failure is data: the model answers after it, and the turn is not an error.
        await expect(assistant(page)).to_contain_text("but it failed: division by zero")
        await expect(page.get_by_role("textbox", name="Message")).to_be_enabled()
        await expect(page.get_by_role("log", name="Messages").get_by_role("alert")).to_have_count(0)

        # Opened again later, the stored message shows the same tool error.
        await page.reload()
        await expect(assistant(page).get_by_role("region", name="Tool call calculate")).to_contain_text(
            "division by zero"
        )

    async def test_a_refused_turn_shows_the_server_message(
        self, page: Page, served: Served, api: httpx.AsyncClient
    ) -> None:
        created = await api.post("/v1/ai/agents", json={"name": "Ephemeral", "icon": {"color": "red", "face": "x"}})
        agent_uuid = created.json()["agent"]["uuid"]
        await open_playground(page, served)
        await page.get_by_label("Agent").select_option(label="Ephemeral: draft")
        assert (await api.delete(f"/v1/ai/agents/{agent_uuid}")).status_code == 200
        await send(page, "hello?")
        alert = page.get_by_role("log", name="Messages").get_by_role("alert")
        await expect(alert).to_contain_text("Error:")
        await expect(alert).to_contain_text(re.compile("agent", re.IGNORECASE))
        await expect(page.get_by_role("textbox", name="Message")).to_be_enabled()


class TestOpenOldChat:
    async def test_an_old_chat_shows_its_messages(self, page: Page, served: Served, api: httpx.AsyncClient) -> None:
        chat_uuid = "6f1e9c1a-1111-4c1d-8e2f-000000000001"
        body = {"chatUuid": chat_uuid, "parts": [{"type": "text", "text": "use calculate: 2+3"}]}
        async with api.stream("POST", "/v1/ai/messages/stream", json=body) as response:
            assert response.status_code == 200
            await response.aread()
        await api.put(f"/v1/ai/chats/{chat_uuid}", json={"name": "Old sums"})

        await open_playground(page, served)
        chats = page.get_by_role("navigation", name="Chats")
        await chats.get_by_role("button", name=re.compile("Old sums")).click()
        await expect(page.get_by_role("article", name="Your message")).to_contain_text("use calculate: 2+3")
        answer = assistant(page)
        await expect(answer.get_by_role("region", name="Tool call calculate")).to_contain_text("5")
        await expect(answer).to_contain_text("the result is 5")
        await expect(answer).to_contain_text("Credits used:")
        await expect(chats.get_by_role("button", name=re.compile("Old sums"))).to_have_attribute("aria-current", "true")

        # The chat goes on where it was.
        await send(page, "one more")
        await expect(answer.nth(1)).to_contain_text("You said: “one more”")


class TestToken:
    async def test_a_bad_token_shows_a_clear_message(self, page: Page, served: Served) -> None:
        await page.goto("/#token=chk_not_a_real_token")
        alert = page.get_by_role("alert")
        await expect(alert).to_contain_text("The server refused this API token")
        await expect(page.get_by_label("API token")).to_be_focused()

        # Pasting the right token into the field fixes it.
        await page.get_by_label("API token").fill(served.token)
        await page.get_by_role("button", name="Use token").click()
        await expect(page.get_by_role("alert")).to_have_count(0)
        await expect(page.get_by_role("textbox", name="Message")).to_be_visible()

    async def test_no_token_asks_for_one(self, page: Page) -> None:
        await page.goto("/")
        await expect(page.get_by_label("API token")).to_be_visible()
        await expect(page.get_by_role("main")).to_contain_text("Paste your workspace's API token")


async def deployed_agent(api: httpx.AsyncClient, name: str, **release: object) -> tuple[dict, dict]:
    created = await api.post("/v1/ai/agents", json={"name": name, "icon": {"color": "blue", "face": "🧮"}})
    assert created.status_code == 200, created.text
    agent = created.json()["agent"]
    body = {
        "agentUuid": agent["uuid"],
        "actions": [],
        "mcpClients": [],
        "resources": [],
        "capabilities": [],
        "suggestedActions": [],
        "integrationSlug": "offline",
        "languageModelSlug": "offline",
        **release,
    }
    deployed = await api.post("/v1/ai/releases/deployDraft", json=body)
    assert deployed.status_code == 200, deployed.text
    return agent, deployed.json()["release"]


async def pick(page: Page, starts_with: str) -> None:
    picker = page.get_by_label("Agent")
    label = await picker.locator("option", has_text=starts_with).first.text_content()
    assert label is not None
    await picker.select_option(label=label)


class TestReasoning:
    async def test_reasoning_is_shown_collapsed(
        self, page: Page, served: Served, api: httpx.AsyncClient, fake_llm: FakeLLM
    ) -> None:
        await deployed_agent(
            api, "Thinker", integrationSlug="anthropic", languageModelSlug="claude-test", withReasoning=True
        )
        fake_llm.script(Reply(reasoning="The user greets me, so I greet back.", text="Hello there!"))
        await open_playground(page, served)
        await pick(page, "Thinker: deployed release")
        await send(page, "hi")
        answer = assistant(page)
        await expect(answer).to_contain_text("Hello there!")
        reasoning = answer.locator("details", has_text="Reasoning")
        await expect(reasoning).not_to_have_attribute("open", "")
        await expect(reasoning.get_by_text("The user greets me")).to_be_hidden()
        await reasoning.get_by_text("Reasoning").click()
        await expect(reasoning.get_by_text("The user greets me, so I greet back.")).to_be_visible()


class TestPickAgent:
    async def test_deployed_release_and_draft(self, page: Page, served: Served, api: httpx.AsyncClient) -> None:
        agent, release = await deployed_agent(api, "Abacus", systemPrompt="You count.")

        await open_playground(page, served)
        await pick(page, "Abacus: deployed release")
        await send(page, "hello Abacus")
        await expect(assistant(page)).to_contain_text("You said: “hello Abacus”")
        chats = page.get_by_role("navigation", name="Chats")
        await expect(chats.get_by_role("listitem").first).to_contain_text("Abacus")
        listed = (await api.get("/v1/ai/chats/list", params={"agentUuid": agent["uuid"]})).json()["chats"]
        assert [c["trigger"]["type"] for c in listed] == ["app"]
        assert listed[0]["releaseUuid"] == release["uuid"]

        await page.get_by_role("button", name="New chat").click()
        await pick(page, "Abacus: draft")
        await send(page, "hello draft")
        await expect(assistant(page)).to_contain_text("You said: “hello draft”")
        await expect(chats.get_by_role("listitem").first).to_contain_text("Abacus (draft)")
        listed = (await api.get("/v1/ai/chats/list", params={"agentUuid": agent["uuid"]})).json()["chats"]
        assert [c["trigger"]["type"] for c in listed] == ["draft", "app"]
