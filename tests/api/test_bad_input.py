"""Bad input: a 400 `{errorMessage}` naming the field, and nothing written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, StreamReader, new_uuid, read_stream, stream_body, wait_for_status

V1_UUID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def bodies() -> list[tuple[dict[str, Any], str]]:
    return [
        ({**stream_body(), "bogus": 1}, "bogus"),
        ({"chatUuid": new_uuid()}, "parts"),
        ({**stream_body(), "parts": []}, "parts"),
        ({**stream_body(), "parts": [{"text": "no type"}]}, "parts"),
        ({**stream_body(), "parts": [{"type": "text"}]}, "parts"),
        ({**stream_body(), "chatUuid": V1_UUID}, "chatUuid"),
        ({**stream_body(), "chatUuid": "nope"}, "chatUuid"),
        ({**stream_body(), "uuid": 42}, "uuid"),
        ({**stream_body(), "temperature": 3}, "temperature"),
        ({**stream_body(), "maxSteps": 0}, "maxSteps"),
        ({**stream_body(), "maxSteps": 1000}, "maxSteps"),
        ({**stream_body(), "chatTrigger": {"type": "fax"}}, "chatTrigger"),
        ({**stream_body(), "languageModelSlug": "gpt-9", "integrationSlug": "openia"}, "openia"),
        ({**stream_body(), "integrationSlug": "offline", "languageModelSlug": "llama"}, "llama"),
        ({**stream_body(), "actions": [{"kind": "tool", "slug": "x"}]}, "action `x`"),
        ({**stream_body(), "actions": [{"kind": "tool", "slug": "bad name!"}]}, "actions.0.tool.slug"),
        ({**stream_body(), "actions": [{"kind": "robot", "slug": "x"}]}, "actions.0"),
        ({**stream_body(), "actions": [{"kind": "tool", "slug": "x", "toolUuid": new_uuid()}]}, "not found"),
        ({**stream_body(), "actions": [{"kind": "agent", "slug": "x", "agentUuid": new_uuid()}]}, "not found"),
        (
            {
                **stream_body(),
                "actions": [{"kind": "connector", "slug": "x", "integrationSlug": "fax", "actionSlug": "a"}],
            },
            "fax",
        ),
        (
            {
                **stream_body(),
                "actions": [{"kind": "connector", "slug": "x", "integrationSlug": "http", "actionSlug": "a"}],
            },
            "no action 'a'",
        ),
        ({**stream_body(), "tools": [], "actions": []}, "actions"),
        ({**stream_body(), "mcpClients": [{"name": "m", "url": "ftp://x"}]}, "mcpClients"),
        ({**stream_body(), "resources": [{"kind": "file"}]}, "resources"),
        ({**stream_body(), "agentUuid": new_uuid()}, "Agent"),
    ]


class TestStreamBody:
    @pytest.mark.parametrize(("body", "named"), bodies())
    async def test_refused_and_nothing_written(
        self, server: Server, tenant: Tenant, body: dict[str, Any], named: str
    ) -> None:
        response = await tenant.client.post("/v1/ai/messages/stream", json=body)
        assert response.status_code in (400, 404), response.text
        error = response.json()
        assert named in error["errorMessage"], error
        assert set(error) <= {"errorMessage", "reason"}
        assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}

    async def test_not_json(self, server: Server, tenant: Tenant) -> None:
        response = await tenant.client.post(
            "/v1/ai/messages/stream", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert response.status_code == 400 and "JSON" in response.json()["errorMessage"]

    async def test_missing_provider_key(self, make_settings: Any, make_tenant: Any) -> None:
        from ..harness import start_server

        async with start_server(make_settings(anthropic_api_key=None)) as srv:
            tenant = await make_tenant(srv)
            body = {**stream_body(), "integrationSlug": "anthropic"}
            response = await tenant.client.post("/v1/ai/messages/stream", json=body)
            assert response.status_code == 400
            assert response.json() == {
                "errorMessage": "No API key for integration 'anthropic': set CARGOHOLD_ANTHROPIC_API_KEY on the server",
                "reason": "missingProviderKey",
            }
            assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}


class TestOtherRoutes:
    async def test_path_and_body_errors(self, server: Server, tenant: Tenant) -> None:
        cases = [
            ("GET", "/v1/ai/chats/not-a-uuid", None, "uuid"),
            ("GET", f"/v1/ai/messages/{V1_UUID}", None, "uuid"),
            ("GET", "/v1/ai/messages/list", None, "chatUuid"),
            ("POST", "/v1/ai/chats", {}, "trigger"),
            ("POST", "/v1/ai/chats", {"trigger": {"type": "app"}, "title": "x"}, "title"),
            ("PUT", f"/v1/ai/chats/{new_uuid()}", {"name": 5}, "name"),
            ("POST", "/v1/ai/messages/cancel", {"uuids": []}, "uuids"),
            ("POST", "/v1/ai/messages/cancel", {"uuids": ["x"]}, "uuids"),
        ]
        for method, url, body, named in cases:
            response = await tenant.client.request(method, url, json=body)
            assert response.status_code == 400, (url, response.text)
            assert named in response.json()["errorMessage"], (url, response.json())

    async def test_unknown_route_has_the_error_shape(self, server: Server, tenant: Tenant) -> None:
        response = await tenant.client.get("/v1/ai/nothing-here")
        assert response.status_code == 404 and set(response.json()) == {"errorMessage"}


def raw(body: Any) -> bytes:
    """JSON as a hostile client can send it: lone surrogates and NUL as `\\u` escapes, NaN as is."""
    return json.dumps(body).encode()


def deep(levels: int, leaf: Any = 1) -> Any:
    """`levels` objects, one inside the other."""
    value = leaf
    for _ in range(levels):
        value = {"a": value}
    return value


async def nothing_written(tenant: Tenant) -> None:
    assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}
    assert (await tenant.client.get("/v1/ai/agents/list")).json() == {"agents": []}
    assert (await tenant.client.get("/v1/tools/list")).json() == {"tools": []}


@dataclass
class Case:
    """One hostile body: where it goes, what the answer must name, with which reason."""

    id: str
    path: str
    body: bytes
    named: str
    reason: str
    method: str = "POST"


def stream(**fields: Any) -> dict[str, Any]:
    return {**stream_body(), **fields}


def text_part(text: str, **extra: Any) -> bytes:
    return raw(stream(parts=[{"type": "text", "text": text, **extra}]))


def data_part(data: Any) -> bytes:
    return raw(stream(parts=[{"type": "data-x", "data": data}]))


def with_extra(body: bytes, extra: bytes) -> bytes:
    """`body` (a JSON object) with raw JSON text added before its closing brace."""
    return body[:-1] + b", " + extra + b"}"


def token_set(**authentication: Any) -> bytes:
    client = {"name": "m", "url": "https://mcp.example.com/mcp", "authentication": authentication}
    return raw(stream(mcpClients=[client]))


def tool(input_schema: dict[str, Any]) -> bytes:
    return raw({"name": "t", "url": "https://x.example.com", "inputSchema": input_schema})


NESTED = b"[" * 100_000 + b"]" * 100_000


def hostile_cases() -> list[Case]:
    s, chats, agents, tools = "/v1/ai/messages/stream", "/v1/ai/chats", "/v1/ai/agents", "/v1/tools"
    return [
        Case("surrogate-in-text", s, text_part("a\ud800b"), "parts[0].text", "invalidString"),
        Case("nul-in-text", s, text_part("a\x00b"), "parts[0].text", "invalidString"),
        Case("nul-in-key", s, text_part("x", **{"k\x00": 1}), "parts[0]", "invalidString"),
        Case("surrogate-in-key", s, data_part({"\udfff": 1}), "parts[0].data", "invalidString"),
        Case("deep-data", s, data_part(deep(900)), "parts[0].data", "jsonTooDeep"),
        Case("100k-levels", s, NESTED, "nests too deeply", "jsonTooDeep"),
        Case("inf-temperature", s, with_extra(raw(stream()), b'"temperature": 1e400'), "temperature", "numberTooLarge"),
        Case("nan-temperature", s, raw(stream(temperature=float("nan"))), "temperature", "numberTooLarge"),
        Case("huge-int", s, raw(stream(maxSteps=10**30)), "maxSteps", "numberTooLarge"),
        Case("5000-digits", s, with_extra(raw(stream()), b'"maxSteps": ' + b"9" * 5000), "JSON", "invalidJson"),
        Case("not-utf8", s, b'{"chatUuid": "\xff\xfe"}', "JSON", "invalidJson"),
        Case("nul-in-chat-name", chats, raw({"trigger": {"type": "app"}, "name": "a\x00"}), "name", "invalidString"),
        Case("nul-in-agent-name", agents, raw({"name": "\x00"}), "name", "invalidString"),
        Case("deep-body-model", agents, b'{"name": "a", "icon": ' + NESTED + b"}", "deep", "jsonTooDeep"),
        Case("deep-tool-schema", tools, tool({"properties": deep(70)}), "inputSchema.properties", "jsonTooDeep"),
        Case("big-tool-schema", tools, tool({"description": "x" * 300_000}), "inputSchema", "fieldTooLarge"),
        Case("issued-at-1e300", s, token_set(issuedAt="1e300", accessToken="t"), "issuedAt", ""),
        Case("issued-at-inf", s, token_set(issuedAt="inf", accessToken="t"), "issuedAt", ""),
        Case("issued-at-20-digits", s, token_set(issuedAt="9" * 20, accessToken="t"), "issuedAt", ""),
        Case(
            "expires-in-1e300", s, token_set(issuedAt="1700000000", accessToken="t", expiresIn=1e300), "expiresIn", ""
        ),
    ]


class TestHostileBodies:
    """Each is a clean 400 naming the field, with `{errorMessage, reason}`, and writes nothing
    (before: 500s, a cut stream, or a stored row that broke later reads)."""

    @pytest.mark.parametrize("case", hostile_cases(), ids=lambda c: c.id)
    async def test_refused(self, server: Server, tenant: Tenant, case: Case) -> None:
        response = await tenant.client.request(
            case.method, case.path, content=case.body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        error = response.json()
        assert case.named in error["errorMessage"], error
        assert set(error) <= {"errorMessage", "reason"}
        if case.reason:
            assert error["reason"] == case.reason, error
        await nothing_written(tenant)

    async def test_free_form_fields_are_bounded(self, server: Server, tenant: Tenant) -> None:
        agent = (await tenant.client.post("/v1/ai/agents", json={"name": "a"})).json()["agent"]
        big = {"blob": "x" * 300_000}
        for method, path, body, named in [
            ("PUT", f"/v1/ai/agents/{agent['uuid']}", {"template": big}, "template"),
            ("PUT", "/v1/ai/releases/updateDraft", {"agentUuid": agent["uuid"], "output": big}, "output"),
            ("PUT", "/v1/ai/releases/updateDraft", {"agentUuid": agent["uuid"], "resources": [big]}, "resources"),
            ("POST", "/v1/ai/chats", {"trigger": {"type": "connector", "connectorUuid": new_uuid(), "meta": big}}, ""),
        ]:
            response = await tenant.client.request(method, path, json=body)
            assert response.status_code == 400, (path, response.text)
            assert response.json()["reason"] == "fieldTooLarge" and named in response.json()["errorMessage"]
        assert (await tenant.client.get(f"/v1/ai/agents/{agent['uuid']}")).json()["agent"]["template"] is None
        assert (await tenant.client.get("/v1/ai/chats/list")).json() == {"chats": []}

    async def test_a_nul_in_a_query_value(self, server: Server, tenant: Tenant) -> None:
        response = await tenant.client.get("/v1/ai/chats/list", params={"name": "a\x00"})
        assert response.status_code == 400 and response.json()["reason"] == "invalidString", response.text
        assert "`name`" in response.json()["errorMessage"]

    async def test_sixty_four_levels_are_fine(self, server: Server, tenant: Tenant) -> None:
        agent = (await tenant.client.post("/v1/ai/agents", json={"name": "a"})).json()["agent"]
        response = await tenant.client.put(f"/v1/ai/agents/{agent['uuid']}", json={"template": deep(63)})
        assert response.status_code == 200, response.text
        response = await tenant.client.put(f"/v1/ai/agents/{agent['uuid']}", json={"template": deep(64)})
        assert response.status_code == 400 and response.json()["reason"] == "jsonTooDeep"
        assert response.json()["errorMessage"].startswith("`template.a.a")


class TestBodySize:
    """`CARGOHOLD_MAX_BODY_BYTES`: a 413 `payloadTooLarge` before the body is read whole."""

    LIMIT = 64 * 1024

    @pytest.fixture
    async def small(self, make_settings: Any, make_tenant: Any) -> AsyncIterator[tuple[Server, Tenant]]:
        from ..harness import start_server

        async with start_server(make_settings(max_body_bytes=self.LIMIT)) as srv:
            yield srv, await make_tenant(srv)

    async def test_declared_length(self, small: tuple[Server, Tenant]) -> None:
        _, tenant = small
        body = stream(parts=[{"type": "text", "text": "x" * (self.LIMIT + 1)}])
        response = await tenant.client.post("/v1/ai/messages/stream", json=body)
        assert response.status_code == 413, response.text
        assert response.json() == {
            "errorMessage": f"The request body is larger than {self.LIMIT} bytes (CARGOHOLD_MAX_BODY_BYTES)",
            "reason": "payloadTooLarge",
        }
        await nothing_written(tenant)

    async def test_chunked_body_that_grows_past_it(self, small: tuple[Server, Tenant]) -> None:
        _, tenant = small

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"name": "'
            for _ in range(20):
                yield b"x" * 8192
            yield b'"}'

        response = await tenant.client.post(
            "/v1/ai/agents", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413 and response.json()["reason"] == "payloadTooLarge", response.text
        await nothing_written(tenant)

    async def test_answered_before_the_body_arrives(self, small: tuple[Server, Tenant]) -> None:
        """A client declaring 100 MB that sends only its first bytes gets its 413 at once."""
        srv, tenant = small
        host, port = srv.base_url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            head = (
                "POST /v1/ai/agents HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: {tenant.client.headers['Authorization']}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
            )
            writer.write(head.encode() + b'{"name": "')
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), timeout=5)
            assert b" 413 " in status_line, status_line
        finally:
            writer.close()

    async def test_under_the_limit_is_fine(self, small: tuple[Server, Tenant]) -> None:
        _, tenant = small
        response = await tenant.client.post("/v1/ai/agents", json={"name": "a", "description": "x" * 9000})
        assert response.status_code == 200, response.text


class TestLastEventId:
    """An id this broker never hands out is a 400 `invalidLastEventId` on both brokers (memory:
    SQLite runs; Redis: PostgreSQL runs). Before: Redis dropped the connection mid-stream, the
    memory broker silently replayed from the start."""

    async def test_refused_on_both_resume_paths(self, server: Server, tenant: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="one two three four five six seven eight nine ten", delay=0.1))
        chat_uuid = new_uuid()
        async with tenant.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid)) as r:
            reader = StreamReader(r)
            head = await reader.until(2)
            ids = [line[4:] for line in reader.raw.split("\n") if line.startswith("id: ")]
        other_form = "7" if "-" in ids[0] else "1700000000000-0"  # the other broker's kind of id
        bad: list[str | bytes] = ["nope", "-1", "1-x", "9" * 30, "9" * 25 + "-0", "²".encode(), other_form]
        for path in (f"/v1/ai/chats/{chat_uuid}/stream", f"/v1/ai/messages/stream/{chat_uuid}/stream"):
            for value in bad:
                response = await tenant.client.get(path, headers={"Last-Event-ID": value})
                assert response.status_code == 400, (path, value, response.text)
                assert response.json()["reason"] == "invalidLastEventId"
        async with tenant.client.stream(
            "GET", f"/v1/ai/chats/{chat_uuid}/stream", headers={"Last-Event-ID": ids[0]}
        ) as r:
            assert r.status_code == 200
            rest = await read_stream(r)
        assert rest[0] == head[1] and rest[-1] == "[DONE]"
        await wait_for_status(tenant.client, head[0]["messageId"], {"success"})
