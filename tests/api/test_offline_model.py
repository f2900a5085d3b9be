"""The built-in offline model through real turns: it picks `calculate` for arithmetic and
`current_time` for the time without being told a tool's name, still calls a tool it is told to
call, and answers from the chat's history (what the user said earlier, a name they gave)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from cargohold.settings import Settings
from cargohold.store.workspaces import create_token, create_workspace

from ..harness import kind, new_uuid, start_server, stream_body, stream_turn, text_of


def tool_calls(chunks: list[Any]) -> list[tuple[str, Any]]:
    return [(c["toolName"], c["input"]) for c in chunks if kind(c) == "tool-input-available"]


def tool_outputs(chunks: list[Any]) -> list[Any]:
    return [c["output"] for c in chunks if kind(c) == "tool-output-available"]


async def client_for(make_settings: Callable[..., Settings], tools: list[str]) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(default_model="offline:offline", builtin_tools=tools)
    async with start_server(settings) as srv:
        async with srv.state.sessions() as session, session.begin():
            _, user = await create_workspace(session, "offline")
            token = await create_token(session, user)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=srv.base_url, headers=headers, timeout=30) as client:
            yield client


@pytest.fixture
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async for c in client_for(make_settings, ["current_time", "calculate"]):
        yield c


async def turn(client: httpx.AsyncClient, chat: str, text: str) -> list[Any]:
    response, chunks = await stream_turn(client, stream_body(chat, text))
    assert response.status_code == 200 and chunks[-1] == "[DONE]"
    return chunks


class TestPicksTools:
    @pytest.mark.parametrize(
        ("question", "expression", "result"),
        [
            ("What is 6 times 7?", "6*7", 42),
            ("how much is (12 + 3) * 2", "(12 + 3) * 2", 30),
            ("2 to the power of 10, please", "2**10", 1024),
            ("what's 10 divided by 4", "10/4", 2.5),
        ],
    )
    async def test_arithmetic_calls_calculate(
        self, client: httpx.AsyncClient, question: str, expression: str, result: float
    ) -> None:
        chunks = await turn(client, new_uuid(), question)
        assert tool_calls(chunks) == [("calculate", {"expression": expression})]
        assert tool_outputs(chunks)[0]["result"] == result
        assert f"I called `calculate` and the result is {result}." in text_of(chunks)

    @pytest.mark.parametrize("question", ["What time is it?", "what's the date today?", "What day is it"])
    async def test_a_time_question_calls_current_time(self, client: httpx.AsyncClient, question: str) -> None:
        chunks = await turn(client, new_uuid(), question)
        assert tool_calls(chunks) == [("current_time", {})]
        utc = tool_outputs(chunks)[0]["utc"]
        assert abs((datetime.fromisoformat(utc) - datetime.now(UTC)).total_seconds()) < 60
        assert "current_time" in text_of(chunks) and utc[:10] in text_of(chunks)

    @pytest.mark.parametrize("question", ["hello there", "Once upon a time there was a story", "meet me at 2026-12-03"])
    async def test_no_tool_for_other_questions(self, client: httpx.AsyncClient, question: str) -> None:
        chunks = await turn(client, new_uuid(), question)
        assert tool_calls(chunks) == []
        assert text_of(chunks).startswith(f"You said: “{question}”.")

    async def test_a_named_tool_wins(self, client: httpx.AsyncClient) -> None:
        chunks = await turn(client, new_uuid(), "use current_time, not 2 + 2")
        assert tool_calls(chunks) == [("current_time", {})]
        chunks = await turn(client, new_uuid(), "Please calculate 6 * 7")
        assert tool_calls(chunks) == [("calculate", {"expression": "6 * 7"})]

    async def test_tools_off_means_text(self, make_settings: Callable[..., Settings]) -> None:
        async for client in client_for(make_settings, []):
            chunks = await turn(client, new_uuid(), "What is 6 times 7?")
            assert tool_calls(chunks) == []
            assert "No tools are enabled" in text_of(chunks)


class TestUsesHistory:
    async def test_repeats_what_was_said(self, client: httpx.AsyncClient) -> None:
        chat = new_uuid()
        first = text_of(await turn(client, chat, "what did I say earlier?"))
        assert first == "This is your first message in this chat: you said nothing before it."
        await turn(client, chat, "My name is Ada and I like owls")
        second = text_of(await turn(client, chat, "hello again"))
        assert second.startswith("You said: “hello again”.")
        assert "Before that you said “My name is Ada and I like owls”" in second
        assert text_of(await turn(client, chat, "What is my name?")) == (
            "Your name is Ada: you told me earlier in this chat."
        )
        chunks = await turn(client, chat, "what is 6 times 7?")  # a tool turn in between
        assert tool_outputs(chunks)[0]["result"] == 42
        recall = text_of(await turn(client, chat, "What did I say earlier?"))
        assert recall == (
            "Earlier in this chat you said: “what did I say earlier?”, then “My name is Ada and I like owls”, "
            "then “hello again”, then “What is my name?”, then “what is 6 times 7?”."
        )

    async def test_another_chat_knows_nothing(self, client: httpx.AsyncClient) -> None:
        chat = new_uuid()
        await turn(client, chat, "my name is Grace")
        assert text_of(await turn(client, new_uuid(), "what's my name?")) == (
            "You have not told me your name in this chat."
        )
