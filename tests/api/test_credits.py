"""Credits are decimals with 6 places wherever they are shown: a chat's sum never shows float
noise (`0.00046 * 3` was `0.0013800000000000002`)."""

from __future__ import annotations

from typing import Any

from cargohold.runtime.credits import add_credits, round_credits
from cargohold.settings import ModelPrice

from ..conftest import MakeTenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import new_uuid, start_server, stream_body, stream_turn


class TestCredits:
    async def test_a_chat_sum_has_six_places(self, make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM) -> None:
        prices = {"gpt-test": ModelPrice(input=0.046, output=0.0)}
        async with start_server(make_settings(model_prices=prices)) as srv:
            tenant = await make_tenant(srv)
            chat_uuid = new_uuid()
            for _ in range(3):
                llm.script(Reply(text="ok", input_tokens=10, output_tokens=1))
                response, chunks = await stream_turn(tenant.client, stream_body(chat_uuid))
                assert response.status_code == 200 and chunks[-1] == "[DONE]"
                assert chunks[-2]["messageMetadata"]["usage"]["creditsUsedCount"] == 0.00046
            chat = (await tenant.client.get(f"/v1/ai/chats/{chat_uuid}")).json()["chat"]
            assert chat["creditsUsedCount"] == 0.00138
            [listed] = (await tenant.client.get("/v1/ai/chats/list")).json()["chats"]
            assert listed["creditsUsedCount"] == 0.00138


class TestRounding:
    """Unit tests of the rounding rule itself (no route shows an input of 7 places)."""

    def test_round_half_up_from_the_shortest_decimal(self) -> None:
        assert round_credits(0.0013800000000000002) == 0.00138
        assert round_credits(0.0000025) == 0.000003
        assert round_credits(2.0000004999) == 2.0
        assert round_credits(1e300) == 1e300

    def test_sums_are_decimal(self) -> None:
        assert 0.00092 + 0.00046 != 0.00138
        assert add_credits(0.00092, 0.00046) == 0.00138
        assert add_credits() == 0.0
