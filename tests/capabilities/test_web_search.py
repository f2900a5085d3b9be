"""The `webSearch` capability over real HTTP: the fake LLM calls `web_search` and `fetch_url`, the
search goes to a fake SearXNG on 127.0.0.1, and what the user sees is the stream and the stored
message. The operator allows 127.0.0.1 only (the fake's host); every other private address stays
refused, before any connection is made."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from cargohold.settings import Settings

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..fakes.searxng import BRAVE_KEY, TAVILY_KEY, FakeSearXNG
from ..harness import kind, start_server, stream_body, stream_turn, text_of, wait_for_status

CAPABILITY = [{"slug": "webSearch"}]


def outputs(chunks: list[Any]) -> dict[str, list[Any]]:
    """Tool outputs (or `{error}`) by tool name, in the order the calls were made."""
    calls = [(c["toolCallId"], c["toolName"]) for c in chunks if kind(c) == "tool-input-available"]
    results: dict[str, Any] = {}
    for c in chunks:
        if kind(c) == "tool-output-available":
            results[c["toolCallId"]] = c["output"]
        elif kind(c) == "tool-output-error":
            results[c["toolCallId"]] = {"error": c["errorText"]}
    found: dict[str, list[Any]] = {}
    for call_id, name in calls:
        found.setdefault(name, []).append(results[call_id])
    return found


async def test_search_fetch_and_refusals(
    make_settings: Callable[..., Settings], make_tenant: Any, llm: FakeLLM
) -> None:
    async with FakeSearXNG() as web:
        settings = make_settings(searxng_url=web.base_url, allow_private_urls="127.0.0.1", fetch_max_bytes=100_000)
        async with start_server(settings) as server:
            tenant: Tenant = await make_tenant(server)
            page = f"{web.base_url}/page"
            llm.script(
                Reply(tool_calls=[ToolCall("web_search", {"query": "how do cargo holds work"})]),
                Reply(
                    tool_calls=[
                        ToolCall("fetch_url", {"url": f"{web.base_url}/redirect?to=/page"}),
                        ToolCall("fetch_url", {"url": "http://169.254.169.254/latest/meta-data/"}),
                        ToolCall("fetch_url", {"url": f"{web.base_url}/redirect?to=http://10.0.0.1/admin"}),
                        ToolCall("fetch_url", {"url": f"{web.base_url}/big"}),
                        ToolCall("fetch_url", {"url": "file:///etc/passwd"}),
                    ]
                ),
                Reply(text="Holds keep cargo dry."),
            )
            response, chunks = await stream_turn(
                tenant.client, stream_body(text="How do cargo holds work?", capabilities=CAPABILITY)
            )
            assert response.status_code == 200
            assert text_of(chunks) == "Holds keep cargo dry."
            assert web.queries == ["how do cargo holds work"]

            found = outputs(chunks)
            results = found["web_search"][0]["results"]
            assert results == [
                {"title": "Cargo holds", "url": page, "snippet": "A hold keeps cargo dry."},
                {"title": "Bulk carriers", "url": "https://example.org/bulk", "snippet": "Ships that carry grain."},
            ]
            fetched, metadata, internal, big, scheme = found["fetch_url"]
            # A redirect to an allowed address is followed; the page is readable text without its script/style.
            assert fetched["url"] == page and fetched["title"] == "Cargo holds"
            assert "A hold keeps **cargo** dry." in fetched["text"]
            for hidden in ("script text", "secret-style", "enable js"):
                assert hidden not in fetched["text"]
            # Private addresses: refused, naming the address and what the operator can set.
            assert "169.254.169.254" in metadata["error"] and "CARGOHOLD_ALLOW_PRIVATE_URLS" in metadata["error"]
            assert "10.0.0.1" in internal["error"] and "refused" in internal["error"]
            assert big["truncated"] is True and len(big["text"]) == settings.fetch_max_chars
            assert "scheme" in scheme["error"]

            # Each search result and each fetched page is a source-url chunk, after its tool's output.
            sources = [(c["url"], c.get("title")) for c in chunks if kind(c) == "source-url"]
            assert sources[:2] == [(page, "Cargo holds"), ("https://example.org/bulk", "Bulk carriers")]
            assert (page, "Cargo holds") in sources[2:]
            first_source = next(i for i, c in enumerate(chunks) if kind(c) == "source-url")
            first_output = next(i for i, c in enumerate(chunks) if kind(c) == "tool-output-available")
            assert first_output < first_source

            # The model was given the results (not the stream's sources metadata).
            tool_message = llm.requests[1]["messages"][-1]
            assert tool_message["role"] == "tool" and "Bulk carriers" in tool_message["content"]
            assert "cargohold.attachments" not in json.dumps(llm.requests[1])

            start = next(c for c in chunks if kind(c) == "start")
            message = await wait_for_status(tenant.client, start["messageId"], {"success"})
            stored = [p for p in message["parts"] if p["type"] == "source-url"]
            assert [(p["url"], p.get("title")) for p in stored] == sources
            assert {"web_search", "fetch_url"} <= set(message["evaluatedTools"] or {})


async def test_brave_and_tavily_wire_formats_and_their_keys_stay_hidden(
    make_settings: Callable[..., Settings], make_tenant: Any, llm: FakeLLM
) -> None:
    async with FakeSearXNG() as web:
        for provider, key, extra in (
            ("brave", BRAVE_KEY, {"brave_url": web.base_url, "brave_api_key": BRAVE_KEY}),
            ("tavily", TAVILY_KEY, {"tavily_url": web.base_url, "tavily_api_key": TAVILY_KEY}),
        ):
            web.queries.clear()
            settings = make_settings(web_search_provider=provider, allow_private_urls="127.0.0.1", **extra)
            async with start_server(settings) as server:
                tenant: Tenant = await make_tenant(server)
                llm.script(
                    Reply(tool_calls=[ToolCall("web_search", {"query": f"cargo holds via {provider}"})]),
                    Reply(text="Holds keep cargo dry."),
                )
                response, chunks = await stream_turn(
                    tenant.client, stream_body(text="How do cargo holds work?", capabilities=CAPABILITY)
                )
                assert response.status_code == 200, provider
                assert web.queries == [f"cargo holds via {provider}"], provider
                assert web.keys[-1] == (provider, key)
                results = outputs(chunks)["web_search"][0]["results"]
                assert [r["url"] for r in results] == [f"{web.base_url}/page", "https://example.org/bulk"], provider
                assert results[1]["snippet"] == "Ships that carry grain."
                sources = [c["url"] for c in chunks if kind(c) == "source-url"]
                assert sources == [r["url"] for r in results]
                start = next(c for c in chunks if kind(c) == "start")
                message = await wait_for_status(tenant.client, start["messageId"], {"success"})
                assert key not in json.dumps(chunks) and key not in json.dumps(message), provider
                assert key not in json.dumps(llm.requests[-1])


async def test_native_search_goes_to_the_model_and_a_model_without_it_is_a_400(
    make_settings: Callable[..., Settings], make_tenant: Any, llm: FakeLLM
) -> None:
    async with start_server(make_settings(web_search_provider="native")) as server:
        tenant: Tenant = await make_tenant(server)
        searched = [
            {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "cargo holds"}},
            {
                "type": "web_search_tool_result",
                "tool_use_id": "srvtoolu_1",
                "content": [
                    {
                        "type": "web_search_result",
                        "title": "Cargo holds",
                        "url": "https://example.org/holds",
                        "encrypted_content": "abc",
                        "page_age": None,
                    }
                ],
            },
        ]
        llm.script(Reply(text="Holds keep cargo dry.", server_blocks=searched))
        body = stream_body(text="How do cargo holds work?", capabilities=CAPABILITY)
        body.update(integrationSlug="anthropic", languageModelSlug="claude-test")
        response, chunks = await stream_turn(tenant.client, body)
        assert response.status_code == 200, response.text
        assert text_of(chunks) == "Holds keep cargo dry."
        # The provider's own search is streamed as a provider-executed tool call and its results.
        call = next(c for c in chunks if kind(c) == "tool-input-available")
        assert call["toolName"] == "web_search" and call["providerExecuted"] is True
        assert call["input"] == {"query": "cargo holds"}
        result = next(c for c in chunks if kind(c) == "tool-output-available")
        assert result["providerExecuted"] is True and result["output"][0]["url"] == "https://example.org/holds"
        tools = llm.requests[-1]["tools"]
        native = [t for t in tools if str(t.get("type", "")).startswith("web_search")]
        assert len(native) == 1 and native[0]["name"] == "web_search", tools
        assert [t["name"] for t in tools if "input_schema" in t] == ["fetch_url"]  # ours: fetch only
        start = next(c for c in chunks if kind(c) == "start")
        message = await wait_for_status(tenant.client, start["messageId"], {"success"})
        assert message["evaluatedTools"]["web_search"]["provider"] == "native"
        assert "https://example.org/holds" in json.dumps(message["parts"])

        # The OpenAI chat model of the fake cannot search natively: refused before anything is stored.
        before = len(llm.requests)
        refused = await tenant.client.post("/v1/ai/messages/stream", json=stream_body(capabilities=CAPABILITY))
        assert refused.status_code == 400
        assert "native search" in refused.json()["errorMessage"] and "openai:gpt-test" in refused.json()["errorMessage"]
        assert len(llm.requests) == before
        chats = (await tenant.client.get("/v1/ai/chats/list")).json()["chats"]
        assert len(chats) == 1  # the refused turn left no chat


async def test_no_provider_is_a_400_saying_what_to_set(
    make_settings: Callable[..., Settings], make_tenant: Any
) -> None:
    async with start_server(make_settings()) as server:
        tenant: Tenant = await make_tenant(server)
        response = await tenant.client.post("/v1/ai/messages/stream", json=stream_body(capabilities=CAPABILITY))
        assert response.status_code == 400
        message = response.json()["errorMessage"]
        assert "CARGOHOLD_SEARXNG_URL" in message and "CARGOHOLD_BRAVE_API_KEY" in message
        chats = (await tenant.client.get("/v1/ai/chats/list")).json()
        assert chats.get("chats", []) == []
        # A release is checked the same way: its draft keeps its capabilities.
        agent = (await tenant.client.post("/v1/ai/agents", json={"name": "Scout"})).json()["agent"]
        draft = {"agentUuid": agent["uuid"], "capabilities": CAPABILITY}
        refused = await tenant.client.put("/v1/ai/releases/updateDraft", json=draft)
        assert refused.status_code == 400 and "CARGOHOLD_SEARXNG_URL" in refused.json()["errorMessage"]
