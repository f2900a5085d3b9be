"""The fake model server, driven through pydantic-ai's real OpenAI and Anthropic models (and so the real
openai and anthropic SDKs over HTTP): it proves the fake speaks both wire formats well enough."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic_ai import Agent, AgentRunResultEvent, PartDeltaEvent, PartStartEvent, TextPart, TextPartDelta
from pydantic_ai.exceptions import ModelConnectionError, ModelHTTPError, ModelRateLimitError
from pydantic_ai.messages import ThinkingPart
from pydantic_ai.models import Model
from pydantic_ai.models.anthropic import AnthropicModel
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.anthropic import AnthropicProvider
from pydantic_ai.providers.openai import OpenAIProvider

from ..harness import wait_until
from .fake_llm import NO_REPLY_LEFT, FakeLLM, Reply, ToolCall

NO_RETRIES: Any = {"max_retries": 0}  # the SDKs retry 408/409/429/5xx and dropped connections by default


@pytest.fixture(params=["openai", "anthropic"])
def api(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def model(api: str, llm: FakeLLM) -> AsyncIterator[Model]:
    if api == "openai":
        provider: Any = OpenAIProvider(base_url=llm.openai_base_url, api_key="test")
        built: Model = OpenAIChatModel("gpt-test", provider=provider)
    else:
        provider = AnthropicProvider(base_url=llm.anthropic_base_url, api_key="test")
        built = AnthropicModel("claude-test", provider=provider)
    async with provider:  # closes the provider's HTTP client
        yield built


async def stream(agent: Agent[Any, str], prompt: str = "hi", **kwargs: Any) -> tuple[list[Any], Any]:
    """Every event of a streamed run, and the run's result."""
    async with agent.run_stream_events(prompt, **kwargs) as events:
        seen = [event async for event in events]
    assert isinstance(seen[-1], AgentRunResultEvent)
    return seen, seen[-1].result


def text_deltas(events: list[Any]) -> list[str]:
    out: list[str] = []
    for event in events:
        if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart) and event.part.content:
            out.append(event.part.content)
        elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
            out.append(event.delta.content_delta)
    return out


class TestText:
    async def test_streams_text_in_pieces(self, api: str, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(text="The quick brown fox jumps over the lazy dog", input_tokens=12, output_tokens=9))
        events, result = await stream(Agent(model))
        assert text_deltas(events) == ["The quick brown ", "fox jumps over ", "the lazy dog"]
        assert result.output == "The quick brown fox jumps over the lazy dog"
        assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.requests) == (12, 9, 1)
        [sent] = llm.requests
        assert sent["stream"] is True and sent["messages"][-1]["role"] == "user"
        if api == "openai":
            assert sent["model"] == "gpt-test" and sent["stream_options"] == {"include_usage": True}
        else:
            assert sent["model"] == "claude-test"

    async def test_not_streamed(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(text="All in one go.", input_tokens=7, output_tokens=3))
        result = await Agent(model).run("hi")
        assert result.output == "All in one go."
        assert (result.usage.input_tokens, result.usage.output_tokens) == (7, 3)
        assert not llm.requests[0].get("stream")

    async def test_reasoning_comes_before_the_text(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(reasoning="The user says hi, so I say hello back.", text="Hello!"))
        _, result = await stream(Agent(model))
        thinking, text = result.response.parts
        assert isinstance(thinking, ThinkingPart) and thinking.content == "The user says hi, so I say hello back."
        assert isinstance(text, TextPart) and text.content == "Hello!"

    async def test_paces_events_by_the_delay(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(text="one two three four five six seven", delay=0.02))
        started = time.monotonic()
        events, _ = await stream(Agent(model))
        # At least one delay between each of the 3 text pieces (and more around them).
        assert len(text_deltas(events)) == 3 and time.monotonic() - started >= 2 * 0.02

    async def test_default_answers_when_the_script_runs_out(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(text="scripted"))
        llm.default = Reply(text="fallback")
        outputs = [(await Agent(model).run(prompt)).output for prompt in ("one", "two", "three")]
        assert outputs == ["scripted", "fallback", "fallback"]

    async def test_a_request_takes_the_first_reply_it_matches(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(text="for beta", match="beta"), Reply(text="for alpha", match="alpha"), Reply(text="any"))
        llm.default = Reply(text="fallback")
        outputs = [(await Agent(model).run(prompt)).output for prompt in ("gamma", "alpha", "alpha", "beta")]
        assert outputs == ["any", "for alpha", "fallback", "for beta"] and llm.queue == []

    async def test_first_delay_holds_a_non_streamed_reply(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(text="Took a while.", first_delay=0.2))
        started = time.monotonic()
        result = await Agent(model).run("hi")
        assert result.output == "Took a while." and time.monotonic() - started >= 0.2


class TestToolTurn:
    @pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "not-streamed"])
    async def test_tool_call_then_answer(self, api: str, model: Model, llm: FakeLLM, streamed: bool) -> None:
        llm.script(
            Reply(tool_calls=[ToolCall("lookup_order", {"order_id": "A-17"})], input_tokens=100, output_tokens=20),
            Reply(text="Order A-17 has shipped.", input_tokens=150, output_tokens=10),
        )
        agent = Agent(model)
        calls: list[str] = []

        @agent.tool_plain
        def lookup_order(order_id: str) -> dict[str, str]:
            """Look up an order by its id."""
            calls.append(order_id)
            return {"orderId": order_id, "status": "shipped"}

        result = (await stream(agent, "Where is A-17?"))[1] if streamed else await agent.run("Where is A-17?")
        assert calls == ["A-17"]
        assert result.output == "Order A-17 has shipped."
        usage = result.usage
        assert (usage.input_tokens, usage.output_tokens, usage.requests) == (250, 30, 2)

        first, second = llm.requests
        if api == "openai":
            assert [tool["function"]["name"] for tool in first["tools"]] == ["lookup_order"]
            call = second["messages"][-2]["tool_calls"][0]
            assert call["id"] == "call_1" and call["function"]["name"] == "lookup_order"
            answer = second["messages"][-1]
            assert answer["role"] == "tool" and answer["tool_call_id"] == "call_1"
            assert "shipped" in answer["content"]
        else:
            assert [tool["name"] for tool in first["tools"]] == ["lookup_order"]
            tool_use = second["messages"][-2]["content"][-1]
            assert tool_use["type"] == "tool_use" and tool_use["id"] == "call_1"
            assert tool_use["input"] == {"order_id": "A-17"}
            [answer] = [b for b in second["messages"][-1]["content"] if b["type"] == "tool_result"]
            assert answer["tool_use_id"] == "call_1" and "shipped" in str(answer["content"])

    async def test_parallel_calls_keep_their_ids(self, model: Model, llm: FakeLLM) -> None:
        llm.script(
            Reply(tool_calls=[ToolCall("double", {"n": 2}, id="call_a"), ToolCall("double", '{"n": 5}')]),
            Reply(text="4 and 10"),
        )
        agent = Agent(model)
        seen: list[int] = []

        @agent.tool_plain
        def double(n: int) -> int:
            seen.append(n)
            return 2 * n

        _, result = await stream(agent)
        assert sorted(seen) == [2, 5] and result.output == "4 and 10"
        ids = [part.tool_call_id for part in result.all_messages()[1].parts]
        assert ids == ["call_a", "call_1"]


class TestErrors:
    async def test_scripted_500(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(status=500))
        with pytest.raises(ModelHTTPError) as caught:
            await stream(Agent(model), model_settings=NO_RETRIES)
        assert caught.value.status_code == 500
        assert "fake LLM: scripted error 500" in str(caught.value)

    async def test_the_sdks_retry_a_500_by_default(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(status=500), Reply(text="Second time lucky."))
        _, result = await stream(Agent(model))
        assert result.output == "Second time lucky." and len(llm.requests) == 2

    async def test_rate_limit_has_the_providers_shape(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(status=429, error_message="Slow down"))
        with pytest.raises(ModelRateLimitError, match="Slow down"):
            await Agent(model).run("hi", model_settings=NO_RETRIES)

    async def test_nothing_scripted_is_a_clear_500(self, model: Model, llm: FakeLLM) -> None:
        with pytest.raises(ModelHTTPError) as caught:
            await stream(Agent(model), model_settings=NO_RETRIES)
        assert caught.value.status_code == 500 and NO_REPLY_LEFT in str(caught.value)

    async def test_cut_stream_fails_the_run(self, api: str, model: Model, llm: FakeLLM) -> None:
        # OpenAI: role chunk + 2 text chunks; Anthropic: message_start, content_block_start + 1 text delta.
        llm.script(Reply(text="one two three four five six seven eight nine", cut_after_chunks=3))
        received: list[str] = []
        with pytest.raises(ModelConnectionError):
            async with Agent(model).run_stream_events("hi", model_settings=NO_RETRIES) as events:
                async for event in events:
                    received += text_deltas([event])
        assert received == (["one two three ", "four five six "] if api == "openai" else ["one two three "])

    async def test_cut_non_streamed_reply_fails_the_run(self, model: Model, llm: FakeLLM) -> None:
        llm.script(Reply(text="never arrives", cut_after_chunks=0))
        with pytest.raises(ModelConnectionError):
            await Agent(model).run("hi", model_settings=NO_RETRIES)


class TestHang:
    @pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "not-streamed"])
    async def test_cancelling_the_client_sets_disconnected(self, model: Model, llm: FakeLLM, streamed: bool) -> None:
        llm.script(Reply(text="the start and then nothing more", hang=True))
        first_text = asyncio.Event()

        async def run() -> None:
            if not streamed:
                await Agent(model).run("hi")
                return
            async with Agent(model).run_stream_events("hi") as events:
                async for event in events:
                    if text_deltas([event]):
                        first_text.set()

        task = asyncio.create_task(run())
        if streamed:
            await asyncio.wait_for(first_text.wait(), timeout=5)  # the first piece came before the hang
        else:
            await wait_until(lambda: bool(llm.requests), timeout=5)
        assert not llm.disconnected.is_set()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.wait_for(llm.disconnected.wait(), timeout=5)

    @pytest.mark.usefixtures("allow_model_requests")
    async def test_stopping_the_fake_releases_a_hang(self) -> None:
        llm = FakeLLM()
        await llm.start()
        llm.script(Reply(text="never finishes", hang=True))
        provider = OpenAIProvider(base_url=llm.openai_base_url, api_key="test")
        async with provider:
            agent = Agent(OpenAIChatModel("gpt-test", provider=provider))
            task = asyncio.create_task(agent.run("hi", model_settings=NO_RETRIES))
            await wait_until(lambda: bool(llm.requests), timeout=5)
            await asyncio.wait_for(llm.stop(), timeout=5)
            with pytest.raises(ModelConnectionError):
                await task
        assert not llm.disconnected.is_set()
