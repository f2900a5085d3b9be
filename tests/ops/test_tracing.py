"""OpenTelemetry traces of a turn: with `CARGOHOLD_OTLP_ENDPOINT` pointing at a tiny OTLP/HTTP
collector on 127.0.0.1, a turn that calls a webhook tool sends its spans (the agent run, each model
request, the tool call) there, and no attribute holds the user's text, the tool's input or output,
a pinned secret or a provider key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cargohold.settings import Settings

from ..conftest import MakeTenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..fakes.webhook import webhook_server
from ..harness import bound_port, start_server, stream_body, stream_turn, wait_until

SECRET = "sk-pinned-secret-4242"
USER_TEXT = "look up the order of Ada Lovelace"


@asynccontextmanager
async def collector() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """An OTLP/HTTP trace receiver: every span it gets, as a dict (protobuf JSON mapping)."""
    spans: list[dict[str, Any]] = []

    async def traces(request: Request) -> Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.body())
        for resource in MessageToDict(export)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    spans.append({**span, "resource": resource["resource"]})
        return Response(b"", media_type="application/x-protobuf")

    app = Starlette(routes=[Route("/v1/traces", traces, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started or task.done(), timeout=10)
    try:
        yield f"http://127.0.0.1:{bound_port(server)}", spans
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)


def attributes(span: dict[str, Any]) -> dict[str, Any]:
    return {a["key"]: a["value"] for a in span.get("attributes", [])}


async def test_a_turn_sends_its_spans(
    make_settings: Callable[..., Settings], make_tenant: MakeTenant, llm: FakeLLM
) -> None:
    async with collector() as (endpoint, spans), webhook_server() as hook:
        settings = make_settings(otlp_endpoint=endpoint, allow_private_urls="127.0.0.0/8")
        async with start_server(settings) as srv:
            tenant = await make_tenant(srv)
            schema = {"type": "object", "properties": {"q": {"type": "string"}, "apiKey": {"type": "string"}}}
            body = {"name": "Lookup", "url": hook.url("/ok"), "inputSchema": schema}
            tool = (await tenant.client.post("/v1/tools", json=body)).json()["tool"]
            action = {"kind": "tool", "slug": "lookup", "toolUuid": tool["uuid"], "config": {"apiKey": SECRET}}
            llm.script(Reply(tool_calls=[ToolCall("lookup", {"q": "Ada"}, id="c1")]), Reply(text="Found order A-17."))
            response, _ = await stream_turn(tenant.client, stream_body(text=USER_TEXT, actions=[action]))
            assert response.status_code == 200
            assert hook.calls[0].json["input"] == {"q": "Ada", "apiKey": SECRET}
        # The server has stopped: its tracer provider sent what it held.
        await wait_until(lambda: any(s["name"].startswith("invoke_agent") for s in spans))

    names = [s["name"] for s in spans]
    assert sorted(names) == ["chat gpt-test", "chat gpt-test", "execute_tool lookup", "invoke_agent agent"]
    tool_span = next(s for s in spans if s["name"] == "execute_tool lookup")
    assert attributes(tool_span)["gen_ai.tool.name"] == {"stringValue": "lookup"}
    model_span = next(s for s in spans if s["name"].startswith("chat "))
    assert attributes(model_span)["gen_ai.request.model"] == {"stringValue": "gpt-test"}
    assert "gen_ai.usage.input_tokens" in attributes(model_span)
    # One trace: the model requests and the tool call are children of the agent run.
    assert len({s["traceId"] for s in spans}) == 1
    run = next(s for s in spans if s["name"].startswith("invoke_agent"))
    assert all(s["parentSpanId"] == run["spanId"] for s in spans if s is not run)
    service = {a["key"]: a["value"] for a in spans[0]["resource"]["attributes"]}["service.name"]
    assert service == {"stringValue": "cargohold"}

    everything = str(spans)
    for secret in (SECRET, USER_TEXT, "Ada", "A-17", "test-key", tool["uuid"]):
        assert secret not in everything, secret
