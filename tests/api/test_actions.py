"""Actions in turns, over real sockets: webhook tools (signed calls, pinned config, bulk, background
runs, failures), the built-in `http` connector, Python tools from entry points, and the outbound
guard. The model is the fake OpenAI server; webhooks are a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import MakeTenant, Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..fakes.webhook import Webhook, webhook_server
from ..harness import Server, kind, new_uuid, start_server, stream_body, stream_turn, wait_until

LOOKUP_SCHEMA = {
    "type": "object",
    "properties": {"q": {"type": "string"}, "region": {"type": "string", "enum": ["eu", "us"]}},
    "required": ["q", "region"],
}


@pytest.fixture
async def hook() -> AsyncIterator[Webhook]:
    async with webhook_server() as server:
        yield server


async def create_tool(tenant: Tenant, url: str, **fields: Any) -> tuple[dict[str, Any], str]:
    body = {"name": "Lookup", "description": "Look a thing up", "url": url, "inputSchema": LOOKUP_SCHEMA, **fields}
    response = await tenant.client.post("/v1/tools", json=body)
    assert response.status_code == 200, response.text
    return response.json()["tool"], response.json()["signingSecret"]


def tool_action(tool: dict[str, Any], slug: str = "lookup", **fields: Any) -> dict[str, Any]:
    return {"kind": "tool", "slug": slug, "toolUuid": tool["uuid"], **fields}


def of_kind(chunks: list[Any], name: str) -> list[dict[str, Any]]:
    return [c for c in chunks if kind(c) == name]


async def assistant_of(tenant: Tenant, chunks: list[Any]) -> dict[str, Any]:
    message_uuid = chunks[0]["messageId"]
    return (await tenant.client.get(f"/v1/ai/messages/{message_uuid}")).json()["message"]


def offered_tools(request: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["function"]["name"]: t["function"] for t in request.get("tools", [])}


class TestWebhookTools:
    async def test_crud_and_secrets(self, owner: Tenant, hook: Webhook) -> None:
        tool, secret = await create_tool(owner, hook.url("/ok"), headers={"X-Api-Key": "key-secret-1"})
        assert secret.startswith("whsec_") and tool["headers"] == {"X-Api-Key": "********"}
        assert tool["method"] == "POST" and tool["inputSchema"] == LOOKUP_SCHEMA
        got = await owner.client.get(f"/v1/tools/{tool['uuid']}")
        listed = await owner.client.get("/v1/tools/list")
        for response in (got, listed):
            assert "key-secret-1" not in response.text and secret not in response.text
        assert got.json()["tool"] == tool and listed.json()["tools"] == [tool]
        # Sending the mask back keeps the stored value; a new value replaces it.
        updated = await owner.client.put(
            f"/v1/tools/{tool['uuid']}", json={"name": "Lookup 2", "headers": {"X-Api-Key": "********", "X-B": "b"}}
        )
        assert updated.json()["tool"]["name"] == "Lookup 2"
        assert updated.json()["tool"]["headers"] == {"X-Api-Key": "********", "X-B": "********"}
        for body, named in [
            ({"name": "x", "url": "ftp://x"}, "url"),
            ({"name": "x", "url": hook.url("/ok"), "inputSchema": {"type": "string"}}, "inputSchema"),
            ({"name": "x", "url": hook.url("/ok"), "method": "GET"}, "method"),
            ({"url": hook.url("/ok")}, "name"),
        ]:
            response = await owner.client.post("/v1/tools", json=body)
            assert response.status_code == 400 and named in response.json()["errorMessage"], response.text
        assert (await owner.client.delete(f"/v1/tools/{tool['uuid']}")).status_code == 200
        assert (await owner.client.get(f"/v1/tools/{tool['uuid']}")).json()["reason"] == "toolNotFound"

    async def test_other_workspace_sees_nothing(
        self, allowed: Server, owner: Tenant, make_tenant: MakeTenant, hook: Webhook, llm: FakeLLM
    ) -> None:
        tool, _ = await create_tool(owner, hook.url("/slow"))
        llm.script(Reply(tool_calls=[ToolCall("lookup", {"q": "x", "region": "eu"}, id="c1")]), Reply(text="Ok."))
        _, chunks = await stream_turn(owner.client, stream_body(actions=[tool_action(tool, waitUntilFinished=False)]))
        run_uuid = next(c for c in chunks if kind(c) == "tool-output-available")["output"]["runUuid"]
        intruder = await make_tenant(allowed, "intruder")
        for method, path, body in [
            ("GET", f"/v1/tools/{tool['uuid']}", None),
            ("PUT", f"/v1/tools/{tool['uuid']}", {"name": "mine"}),
            ("DELETE", f"/v1/tools/{tool['uuid']}", None),
            ("GET", f"/v1/tools/runs/{run_uuid}", None),
        ]:
            response = await intruder.client.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
        assert (await intruder.client.get("/v1/tools/list")).json() == {"tools": []}
        # Nor can another workspace's tool be bound to an action.
        response, _ = await stream_turn(intruder.client, stream_body(actions=[tool_action(tool)]))
        assert response.status_code == 400 and "not found" in response.json()["errorMessage"]
        assert (await owner.client.get(f"/v1/tools/{tool['uuid']}")).json()["tool"]["name"] == "Lookup"

    async def test_signed_call_pinned_config_and_stored_part(self, owner: Tenant, hook: Webhook, llm: FakeLLM) -> None:
        tool, secret = await create_tool(owner, hook.url("/ok"), headers={"X-Api-Key": "key-1"})
        llm.script(Reply(tool_calls=[ToolCall("lookup", {"q": "A-17"}, id="call_1")]), Reply(text="Found it."))
        chat_uuid = new_uuid()
        action = tool_action(tool, config={"region": "eu"}, name="Order lookup")
        response, chunks = await stream_turn(owner.client, stream_body(chat_uuid, "Find A-17", actions=[action]))
        assert response.status_code == 200

        # The model saw the tool by its slug, with the pinned field hidden.
        offered = offered_tools(llm.requests[0])["lookup"]
        assert offered["description"] == "Look a thing up"
        assert set(offered["parameters"]["properties"]) == {"q"} and offered["parameters"]["required"] == ["q"]

        # The webhook got {input, context}, its secret header, and a signature over the raw body.
        (call,) = hook.calls
        message = await assistant_of(owner, chunks)
        assert call.json == {
            "input": {"q": "A-17", "region": "eu"},
            "context": {
                "workspaceUuid": str(owner.workspace_uuid),
                "chatUuid": chat_uuid,
                "messageUuid": message["uuid"],
                "toolCallId": "call_1",
            },
        }
        assert call.headers["x-api-key"] == "key-1"
        stamp, _, given = call.headers["x-cargohold-signature"].partition(",v1=")
        timestamp = stamp.removeprefix("t=")
        expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + call.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(given, expected)

        output = {"outcome": "executed", "data": {"echo": {"q": "A-17", "region": "eu"}, "n": 1}}
        assert of_kind(chunks, "tool-output-available") == [
            {"type": "tool-output-available", "toolCallId": "call_1", "output": output}
        ]
        assert message["status"] == "success" and message["actions"][0]["config"] == {"region": "eu"}
        tool_part = next(p for p in message["parts"] if p["type"] == "tool-lookup")
        assert tool_part["state"] == "output-available" and tool_part["output"] == output
        assert tool_part["input"] == {"q": "A-17"}
        assert message["evaluatedTools"] == {
            "lookup": {"kind": "tool", "name": "Order lookup", "toolUuid": tool["uuid"], "isBulk": False}
        }
        # The model's next step got the tool's output.
        assert llm.requests[1]["messages"][-1]["role"] == "tool"
        assert '"outcome":"executed"' in llm.requests[1]["messages"][-1]["content"].replace(" ", "")

    async def test_failures_become_error_results_and_the_turn_goes_on(
        self, owner: Tenant, hook: Webhook, llm: FakeLLM
    ) -> None:
        fail, _ = await create_tool(owner, hook.url("/fail"))
        garbage, _ = await create_tool(owner, hook.url("/garbage"))
        hang, _ = await create_tool(owner, hook.url("/hang"), timeoutSeconds=0.5)
        args = {"q": "x", "region": "us"}
        llm.script(
            Reply(
                tool_calls=[
                    ToolCall("t_fail", args, id="c1"),
                    ToolCall("t_garbage", args, id="c2"),
                    ToolCall("t_hang", args, id="c3"),
                ]
            ),
            Reply(text="All three failed."),
        )
        actions = [tool_action(fail, "t_fail"), tool_action(garbage, "t_garbage"), tool_action(hang, "t_hang")]
        _, chunks = await stream_turn(owner.client, stream_body(actions=actions))
        errors = {c["toolCallId"]: c["errorText"] for c in of_kind(chunks, "tool-output-error")}
        assert "HTTP 500" in errors["c1"] and "upstream exploded" in errors["c1"]
        assert "not JSON" in errors["c2"]
        assert "did not answer within 0.5s" in errors["c3"]
        await wait_until(hook.gone.is_set, timeout=5)  # the hung call was abandoned, not left open
        message = await assistant_of(owner, chunks)
        assert message["status"] == "success" and "All three failed." in str(message["parts"])
        states = [p["state"] for p in message["parts"] if p["type"].startswith("tool-")]
        assert states == ["output-error"] * 3

    async def test_input_its_schema_refuses_never_reaches_the_webhook(
        self, owner: Tenant, hook: Webhook, llm: FakeLLM
    ) -> None:
        tool, _ = await create_tool(owner, hook.url("/ok"))
        llm.script(
            Reply(
                tool_calls=[
                    ToolCall("lookup", {"q": "x", "region": "mars"}, id="bad_enum"),
                    ToolCall("lookup", {"region": "eu"}, id="missing"),
                    ToolCall("lookup", {"q": "y", "region": "eu"}, id="good"),
                ]
            ),
            Reply(text="One of three."),
        )
        _, chunks = await stream_turn(owner.client, stream_body(actions=[tool_action(tool)]))
        errors = {c["toolCallId"]: c["errorText"] for c in of_kind(chunks, "tool-output-error")}
        assert errors["bad_enum"].startswith("the input does not match the tool's schema at 'region'")
        assert "'mars' is not one of ['eu', 'us']" in errors["bad_enum"]
        assert "'q' is a required property" in errors["missing"]
        assert [c.json["input"] for c in hook.calls] == [{"q": "y", "region": "eu"}]
        message = await assistant_of(owner, chunks)
        assert message["status"] == "success"

    async def test_bulk_call_runs_each_item(self, allowed: Server, owner: Tenant, hook: Webhook, llm: FakeLLM) -> None:
        tool, _ = await create_tool(owner, hook.url("/ok"))
        items = [{"q": "a"}, {"q": "b"}, {"q": "c"}]
        llm.script(Reply(tool_calls=[ToolCall("lookup", {"items": items}, id="call_1")]), Reply(text="Three."))
        action = tool_action(tool, isBulkAllowed=True, config={"region": "us"})
        _, chunks = await stream_turn(owner.client, stream_body(actions=[action]))
        schema = offered_tools(llm.requests[0])["lookup"]["parameters"]
        assert schema["properties"]["items"]["type"] == "array"
        assert set(schema["properties"]["items"]["items"]["properties"]) == {"q"}
        assert sorted(c.json["input"]["q"] for c in hook.calls) == ["a", "b", "c"]
        assert all(c.json["input"]["region"] == "us" for c in hook.calls)
        (done,) = of_kind(chunks, "tool-output-available")
        assert [o["outcome"] for o in done["output"]] == ["executed"] * 3
        assert [o["data"]["echo"]["q"] for o in done["output"]] == ["a", "b", "c"]
        message = await assistant_of(owner, chunks)
        assert message["evaluatedTools"]["lookup"]["isBulk"] is True

    async def test_bulk_refuses_too_many_items(self, make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM) -> None:
        async with (
            webhook_server() as hook,
            start_server(make_settings(allow_private_urls="127.0.0.1", tool_bulk_max_items=2)) as srv,
        ):
            tenant = await make_tenant(srv)
            tool, _ = await create_tool(tenant, hook.url("/ok"))
            items = [{"q": "a", "region": "eu"}] * 3
            llm.script(Reply(tool_calls=[ToolCall("lookup", {"items": items}, id="c1")]), Reply(text="Too many."))
            _, chunks = await stream_turn(tenant.client, stream_body(actions=[tool_action(tool, isBulkAllowed=True)]))
            (error,) = of_kind(chunks, "tool-output-error")
            assert "at most 2 items" in error["errorText"] and hook.calls == []

    async def test_wait_until_finished_false(self, owner: Tenant, hook: Webhook, llm: FakeLLM) -> None:
        tool, _ = await create_tool(owner, hook.url("/slow"))
        llm.script(
            Reply(tool_calls=[ToolCall("lookup", {"q": "big", "region": "eu"}, id="c1")]), Reply(text="Started.")
        )
        _, chunks = await stream_turn(owner.client, stream_body(actions=[tool_action(tool, waitUntilFinished=False)]))
        (started,) = of_kind(chunks, "tool-output-available")
        assert started["output"]["outcome"] == "executing"
        run_uuid = started["output"]["runUuid"]
        assert (await assistant_of(owner, chunks))["status"] == "success"  # the turn did not wait
        run = (await owner.client.get(f"/v1/tools/runs/{run_uuid}")).json()["run"]
        assert run["status"] == "executing" and run["toolCallId"] == "c1" and run["input"]["q"] == "big"
        hook.release.set()

        async def executed() -> bool:
            got = (await owner.client.get(f"/v1/tools/runs/{run_uuid}")).json()["run"]
            return got["status"] == "executed"

        await wait_until(executed, timeout=10)
        run = (await owner.client.get(f"/v1/tools/runs/{run_uuid}")).json()["run"]
        assert run["output"] == {"late": True} and run["finishedAt"] is not None


class TestConnectorsAndPlugins:
    async def test_http_connector(self, owner: Tenant, hook: Webhook, llm: FakeLLM) -> None:
        call = {"method": "POST", "url": hook.url("/ok"), "json": {"input": {"hello": "world"}}}
        llm.script(Reply(tool_calls=[ToolCall("fetch", call, id="c1")]), Reply(text="Fetched."))
        action = {"kind": "connector", "slug": "fetch", "integrationSlug": "http", "actionSlug": "request"}
        _, chunks = await stream_turn(owner.client, stream_body(actions=[action]))
        (done,) = of_kind(chunks, "tool-output-available")
        data = done["output"]["data"]
        assert data["status"] == 200 and data["json"] == {"echo": {"hello": "world"}, "n": 1}
        message = await assistant_of(owner, chunks)
        assert message["evaluatedTools"]["fetch"] == {
            "kind": "connector",
            "name": "HTTP: request",
            "integrationSlug": "http",
            "connectorUuid": None,
            "actionSlug": "request",
            "isBulk": False,
        }

    async def test_python_tool_from_an_entry_point(
        self, make_settings: Any, make_tenant: MakeTenant, llm: FakeLLM, tmp_path: Path
    ) -> None:
        # A real installed-package layout: a module and its dist-info with an entry point.
        (tmp_path / "shout_plugin.py").write_text(
            'def shout(text: str) -> str:\n    """Say it louder."""\n    return text.upper() + "!"\n'
        )
        info = tmp_path / "shout_plugin-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text("[cargohold.tools]\nshout = shout_plugin:shout\n")
        sys.path.insert(0, str(tmp_path))
        try:
            async with start_server(make_settings()) as srv:
                tenant = await make_tenant(srv)
                llm.script(Reply(tool_calls=[ToolCall("loud", {"text": "hi"}, id="c1")]), Reply(text="HI!"))
                action = {"kind": "tool", "slug": "loud", "templateSlug": "shout"}
                _, chunks = await stream_turn(tenant.client, stream_body(actions=[action]))
                assert offered_tools(llm.requests[0])["loud"]["description"] == "Say it louder."
                (done,) = of_kind(chunks, "tool-output-available")
                assert done["output"] == {"outcome": "executed", "data": "HI!"}
                unknown = {"kind": "tool", "slug": "nope", "templateSlug": "whisper"}
                response, _ = await stream_turn(tenant.client, stream_body(actions=[unknown]))
                assert response.status_code == 400 and "shout" in response.json()["errorMessage"]
        finally:
            sys.path.remove(str(tmp_path))
            sys.modules.pop("shout_plugin", None)


class TestOutboundGuard:
    async def test_private_urls_refused_unless_allowed(
        self, server: Server, tenant: Tenant, hook: Webhook, llm: FakeLLM
    ) -> None:
        # `server` allows nothing private: the test's own 127.0.0.1 servers are refused.
        response = await tenant.client.post("/v1/tools", json={"name": "x", "url": hook.url("/ok")})
        assert response.status_code == 400
        assert "CARGOHOLD_ALLOW_PRIVATE_URLS" in response.json()["errorMessage"]
        assert (await tenant.client.get("/v1/tools/list")).json() == {"tools": []}
        call = {"url": hook.url("/ok")}
        llm.script(Reply(tool_calls=[ToolCall("fetch", call, id="c1")]), Reply(text="Refused."))
        action = {"kind": "connector", "slug": "fetch", "integrationSlug": "http", "actionSlug": "request"}
        _, chunks = await stream_turn(tenant.client, stream_body(actions=[action]))
        (error,) = of_kind(chunks, "tool-output-error")
        assert "127.0.0.1" in error["errorText"] and "CARGOHOLD_ALLOW_PRIVATE_URLS" in error["errorText"]
        assert hook.calls == []
        assert (await assistant_of(tenant, chunks))["status"] == "success"
