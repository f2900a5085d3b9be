"""Drill: the model provider fails (a 500, a stream cut mid-way, a hang past the request timeout),
through the real OpenAI and Anthropic clients. Each time the user sees an `error` chunk before
`finish` and `[DONE]`, the assistant message ends `error` with a message that says what happened,
and the chat then takes a new turn that succeeds."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from ..conftest import MakeTenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import kind, new_uuid, start_server, stream_body, stream_turn, text_of

pytestmark = pytest.mark.drill

TIMEOUT = 1.0
"""`model_request_timeout` for these tests, in seconds."""

TEXT = "one two three four five six seven eight nine ten eleven twelve"

PROVIDERS = {
    "openai": {"integrationSlug": "openai", "languageModelSlug": "gpt-test"},
    "anthropic": {"integrationSlug": "anthropic", "languageModelSlug": "claude-test"},
}

FAILURES: dict[str, tuple[Reply, str]] = {
    # failure: (the scripted reply, what the errorMessage must say)
    "status-500": (Reply(status=500, error_message="the model server broke"), r"\b500\b.*the model server broke"),
    "cut-stream": (Reply(text=TEXT, cut_after_chunks=3), r"(?i)\bconnection\b"),
    "hang": (Reply(text=TEXT, hang=True), r"(?i)\btimed out\b"),
}

CASES = [pytest.param(failure, provider, id=f"{failure}-{provider}") for failure in FAILURES for provider in PROVIDERS]


@pytest.mark.parametrize(("failure", "provider"), CASES)
async def test_model_failure_is_an_error_and_the_chat_goes_on(
    make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM, provider: str, failure: str
) -> None:
    reply, says = FAILURES[failure]
    settings = make_settings(model_request_timeout=TIMEOUT, model_max_retries=0)
    async with start_server(settings) as srv:
        tenant = await make_tenant(srv)
        chat_uuid = new_uuid()
        llm.script(reply)
        started = asyncio.get_running_loop().time()
        response, chunks = await asyncio.wait_for(
            stream_turn(tenant.client, stream_body(chat_uuid, "hello", **PROVIDERS[provider])), timeout=15
        )
        elapsed = asyncio.get_running_loop().time() - started
        assert response.status_code == 200, response.text

        # What the user's stream shows: an error, then the normal ending.
        kinds = [kind(c) for c in chunks]
        assert kinds[0] == "start" and kinds[-2:] == ["finish", "[DONE]"], kinds
        assert kinds.count("error") == 1 and kinds.index("error") < kinds.index("finish"), kinds
        error_text = chunks[kinds.index("error")]["errorText"]
        assert chunks[-2]["messageMetadata"]["finishReason"] == "error"
        if failure == "hang":
            assert elapsed >= TIMEOUT
            await asyncio.wait_for(llm.disconnected.wait(), timeout=10)  # the call was given up, not leaked

        # What is stored.
        message_uuid = chunks[0]["messageId"]
        message = (await tenant.client.get(f"/v1/ai/messages/{message_uuid}")).json()["message"]
        assert message["status"] == "error"
        assert message["errorMessage"] == error_text
        assert message["finishedAt"] is not None
        streamed = text_of(chunks)
        if streamed:  # what the user saw before the failure is kept
            assert streamed in "".join(p.get("text", "") for p in message["parts"])
        chat = (await tenant.client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
        assert chat["activeStreamUuid"] is None

        # The chat goes on.
        llm.script(Reply(text="All good now."))
        response, chunks = await stream_turn(tenant.client, stream_body(chat_uuid, "again?", **PROVIDERS[provider]))
        assert response.status_code == 200, response.text
        assert [kind(c) for c in chunks][-2:] == ["finish", "[DONE]"] and "error" not in map(kind, chunks)
        assert text_of(chunks) == "All good now."
        listed = (await tenant.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()
        assert [m["status"] for m in listed["messages"]] == ["success", "error", "success", "success"]

    # Last, so everything above is checked even where this is a known failure: the error says what
    # happened (the status and the provider's message, a lost connection, a timeout).
    assert re.search(says, error_text), f"unclear errorMessage for {failure}: {error_text!r}"
