"""Tool failures are data, never the end of a turn; outputs are capped; no tool call can keep
the server busy."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic_ai import Tool

from ..conftest import MakeTenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import new_uuid, start_server, stream_body, stream_turn, text_of


def _tool_part(message: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in message["parts"] if p["type"] == f"tool-{name}")


async def _last(client: Any, chat_uuid: str) -> dict[str, Any]:
    listed = (await client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()["messages"]
    return listed[-1]


class TestBuiltinTools:
    async def test_a_failing_builtin_tool_is_an_error_result_and_the_turn_goes_on(
        self, make_settings: Any, make_tenant: MakeTenant
    ) -> None:
        settings = make_settings(builtin_tools=["calculate"], default_model="offline:offline")
        async with start_server(settings) as srv:
            client = (await make_tenant(srv)).client
            chat_uuid = new_uuid()
            _, chunks = await stream_turn(client, stream_body(chat_uuid, "Please calculate 10/0"))
            errors = [c for c in chunks if isinstance(c, dict) and c["type"] == "tool-output-error"]
            assert len(errors) == 1 and "division by zero" in errors[0]["errorText"]
            message = await _last(client, chat_uuid)
            assert message["status"] == "success"
            assert _tool_part(message, "calculate")["state"] == "output-error"
            assert "failed" in text_of(chunks)

    async def test_hostile_expressions_are_refused_at_once(self, make_settings: Any, make_tenant: MakeTenant) -> None:
        settings = make_settings(builtin_tools=["calculate"], default_model="offline:offline")
        async with start_server(settings) as srv:
            client = (await make_tenant(srv)).client

            async def hostile(expression: str) -> dict[str, Any]:
                chat_uuid = new_uuid()
                await stream_turn(client, stream_body(chat_uuid, f"calculate {expression}"))
                return await _last(client, chat_uuid)

            async def health() -> list[int]:
                codes = []
                for _ in range(20):
                    codes.append((await client.get("/healthz", timeout=5)).status_code)
                return codes

            expressions = ["((9**999)**999)**10", "9**999*9**999*9**999", "10.0**308*10", "(2**999)**999"]
            *messages, codes = await asyncio.gather(*(hostile(e) for e in expressions), health())
            assert codes == [200] * 20
            for message in messages:
                part = _tool_part(message, "calculate")
                assert message["status"] == "success"
                assert part["state"] == "output-error" and "too large" in part["errorText"], part


class TestPythonTools:
    async def test_a_raising_tool_does_not_end_the_turn_and_outputs_are_capped(
        self, make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM
    ) -> None:
        def explode(reason: str) -> str:
            """Fails."""
            raise RuntimeError(f"boom: {reason}")

        def flood() -> str:
            """A huge answer."""
            return "x" * 50_000

        async with start_server(make_settings(max_tool_output_bytes=1000)) as srv:
            srv.state.tools.register(Tool(explode))
            srv.state.tools.register(Tool(flood))
            client = (await make_tenant(srv)).client
            llm.script(
                Reply(tool_calls=[ToolCall("explode", {"reason": "r"}, id="c1"), ToolCall("flood", {}, id="c2")]),
                Reply(text="Handled."),
            )
            chat_uuid = new_uuid()
            _, chunks = await stream_turn(client, stream_body(chat_uuid))
            assert text_of(chunks) == "Handled."
            message = await _last(client, chat_uuid)
            assert message["status"] == "success"
            failed = _tool_part(message, "explode")
            assert failed["state"] == "output-error" and failed["errorText"] == "boom: r"
            capped = _tool_part(message, "flood")["output"]
            assert len(capped) < 1200 and "output cut by the server: 50002 bytes" in capped
            streamed = next(c for c in chunks if isinstance(c, dict) and c.get("toolCallId") == "c2" and "output" in c)
            assert streamed["output"] == capped
            sent = str(llm.requests[-1]["messages"])
            assert "x" * 1001 not in sent and "output cut by the server" in sent

    async def test_a_slow_python_tool_times_out(
        self, make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM
    ) -> None:
        never = asyncio.Event()

        async def stall() -> str:
            """Never answers."""
            await never.wait()
            return "late"

        async with start_server(make_settings(builtin_tool_timeout=0.2)) as srv:
            srv.state.tools.register(Tool(stall))
            client = (await make_tenant(srv)).client
            llm.script(Reply(tool_calls=[ToolCall("stall", {}, id="s1")]), Reply(text="Moved on."))
            chat_uuid = new_uuid()
            _, chunks = await stream_turn(client, stream_body(chat_uuid))
            assert text_of(chunks) == "Moved on."
            part = _tool_part(await _last(client, chat_uuid), "stall")
            assert part["state"] == "output-error" and "did not finish within 0.2 seconds" in part["errorText"]


class TestWebhookAnswers:
    async def test_a_huge_answer_is_a_failure_and_a_big_one_is_capped(
        self, make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM
    ) -> None:
        from ..fakes.webhook import webhook_server
        from .test_actions import create_tool, tool_action

        settings = make_settings(
            allow_private_urls="127.0.0.0/8", max_webhook_response_bytes=1_000_000, max_tool_output_bytes=2000
        )
        async with start_server(settings) as srv, webhook_server() as hook:
            owner = await make_tenant(srv)
            huge, _ = await create_tool(owner, hook.url("/big?bytes=20000000"))
            big, _ = await create_tool(owner, hook.url("/big?bytes=300000"))
            llm.script(
                Reply(
                    tool_calls=[
                        ToolCall("huge", {"q": "a", "region": "eu"}, id="h1"),
                        ToolCall("big", {"q": "b", "region": "eu"}, id="b1"),
                    ]
                ),
                Reply(text="Both seen."),
            )
            chat_uuid = new_uuid()
            body = stream_body(chat_uuid, actions=[tool_action(huge, "huge"), tool_action(big, "big")])
            _, chunks = await stream_turn(owner.client, body)
            assert text_of(chunks) == "Both seen."
            message = await _last(owner.client, chat_uuid)
            failed = _tool_part(message, "huge")
            assert failed["state"] == "output-error"
            assert "more than the 1000000 bytes allowed" in failed["errorText"]
            capped = _tool_part(message, "big")
            assert capped["state"] == "output-available" and len(capped["output"]) < 2200
            assert "output cut by the server" in capped["output"]
