"""MCP clients against real MCP servers on 127.0.0.1: `POST /v1/ai/mcpClients/connect`, and
`open_mcp_clients` driving a pydantic-ai agent (prefixes, disabled tools, call timeouts, errors,
OAuth refresh single-flight, invalid_grant), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from cargohold.errors import BadRequest
from cargohold.runtime.toolsets import mcp_auth
from cargohold.runtime.toolsets.mcp import McpSetup, _model_names, open_mcp_clients
from cargohold.schemas.mcp_clients import REDACTED, parse_mcp_clients, redact_mcp_clients, restore_redacted
from cargohold.settings import Settings
from cargohold.store.mcp_connections import connection_key, read_connection

from ..conftest import MakeTenant, SharedServer, Tenant
from ..fakes.mcp_servers import McpTestServer, serve_mcp
from ..harness import Server, start_server

FAST = 3.0  # seconds: what "fast" means for an unreachable server or a timed-out call


@pytest.fixture
async def app(shared_server: SharedServer) -> Server:
    return await shared_server(allow_private_urls="127.0.0.0/8", mcp_connect_timeout=5, mcp_list_timeout=5)


@pytest.fixture
async def me(app: Server, make_tenant: MakeTenant) -> Tenant:
    return await make_tenant(app)


@pytest.fixture
async def mcp() -> AsyncIterator[McpTestServer]:
    async with serve_mcp(odd_names=True) as srv:
        yield srv


@pytest.fixture
async def oauth_mcp() -> AsyncIterator[McpTestServer]:
    async with serve_mcp(oauth=True) as srv:
        yield srv


def expired_auth(**extra: Any) -> dict[str, Any]:
    issued = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    base = {"issuedAt": issued, "accessToken": "at-0", "expiresIn": 3600, "refreshToken": "rt-0", "clientId": "app"}
    return {**base, **extra}


async def open_for(app: Server, me: Tenant, clients: list[dict[str, Any]], **overrides: Any) -> McpSetup:
    settings = app.state.settings.model_copy(update=overrides)
    return await open_mcp_clients(
        clients, settings=settings, sessions=app.state.sessions, workspace_uuid=me.workspace_uuid
    )


def calling(*calls: tuple[str, dict[str, Any]]) -> FunctionModel:
    """A model that calls the given tools at once, then answers with what they returned."""

    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        returns = [p for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)]
        if returns:
            return ModelResponse(parts=[TextPart(" | ".join(str(r.content) for r in returns))])
        return ModelResponse(parts=[ToolCallPart(name, args) for name, args in calls])

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str]:
        yield respond(messages, info).parts[0].content  # type: ignore[union-attr]

    return FunctionModel(respond, stream_function=stream)


def tool_returns(messages: list[ModelMessage]) -> dict[str, ToolReturnPart]:
    return {p.tool_name: p for m in messages for p in getattr(m, "parts", []) if isinstance(p, ToolReturnPart)}


class TestConnectRoute:
    async def test_lists_tools_with_schemas(self, me: Tenant, mcp: McpTestServer) -> None:
        body = {"mcpClient": {"name": "tools", "url": mcp.url, "disabledToolSlugs": ["secret_tool"]}}
        response = await me.client.post("/v1/ai/mcpClients/connect", json=body)
        assert response.status_code == 200, response.text
        out = response.json()
        assert out["outcome"] == "connected"
        tools = {t["slug"]: t for t in out["tools"]}
        assert set(tools) == {"add", "slow", "fail", "files.read", "secret_tool"}  # all: a UI toggles them
        assert tools["add"]["description"] == "Add two integers."
        schema = tools["add"]["config"]["jsonSchema"]
        assert schema["type"] == "object" and set(schema["properties"]) == {"a", "b"}
        assert schema["properties"]["a"]["type"] == "integer"

    async def test_sse_and_bearer(self, me: Tenant, oauth_mcp: McpTestServer) -> None:
        auth = {"issuedAt": datetime.now(UTC).isoformat(), "accessToken": "at-0"}
        body = {"mcpClient": {"kind": "custom", "name": "sse", "url": oauth_mcp.sse_url, "authentication": auth}}
        response = await me.client.post("/v1/ai/mcpClients/connect", json=body)
        assert response.status_code == 200, response.text
        assert "add" in {t["slug"] for t in response.json()["tools"]}

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"mcpClient": {"name": "x", "url": "http://a/mcp"}, "extra": 1}, "Unknown field `extra`"),
            ({"mcpClient": {"name": "x", "url": "http://a/mcp", "tools": []}}, "Unknown field `mcpClient.tools`"),
            ({"mcpClient": {"name": "x", "url": "ftp://a"}}, "`mcpClient.url`: must be an http:// or https:// URL"),
            ({"mcpClient": {"name": "x"}}, "`mcpClient.url` is required"),
            ({}, "`mcpClient` is required"),
        ],
    )
    async def test_bad_bodies_name_the_field(self, me: Tenant, body: dict[str, Any], message: str) -> None:
        response = await me.client.post("/v1/ai/mcpClients/connect", json=body)
        assert response.status_code == 400 and response.json()["errorMessage"] == message

    async def test_requires_a_token(self, app: Server, me: Tenant, mcp: McpTestServer) -> None:
        response = await me.client.post(
            "/v1/ai/mcpClients/connect",
            json={"mcpClient": {"name": "x", "url": mcp.url}},
            headers={"Authorization": "Bearer nope"},
        )
        assert response.status_code == 401

    async def test_private_address_refused_when_not_allowed(
        self, make_settings: Callable[..., Settings], make_tenant: MakeTenant, mcp: McpTestServer
    ) -> None:
        async with start_server(make_settings()) as srv:
            me = await make_tenant(srv)
            url = mcp.url.replace("127.0.0.1", "localhost")
            response = await me.client.post("/v1/ai/mcpClients/connect", json={"mcpClient": {"name": "x", "url": url}})
        assert response.status_code == 400
        assert response.json() == {
            "errorMessage": f"MCP client x: refused to connect to 127.0.0.1 (from {url}): a loopback address; "
            "allow it with CARGOHOLD_ALLOW_PRIVATE_URLS",
            "reason": "urlNotAllowed",
        }

    async def test_unreachable_is_a_fast_400(self, me: Tenant) -> None:
        started = time.monotonic()
        body = {"mcpClient": {"name": "down", "url": "http://127.0.0.1:9/mcp"}}
        response = await me.client.post("/v1/ai/mcpClients/connect", json=body)
        assert time.monotonic() - started < FAST
        assert response.status_code == 400 and response.json()["reason"] == "mcpClientUnreachable"
        assert response.json()["errorMessage"].startswith(
            "MCP client down: could not connect to http://127.0.0.1:9/mcp"
        )

    async def test_a_name_that_does_not_resolve(self, me: Tenant) -> None:
        started = time.monotonic()
        body = {"mcpClient": {"name": "nx", "url": "https://no-such-mcp.invalid/mcp"}}
        response = await me.client.post("/v1/ai/mcpClients/connect", json=body)
        assert time.monotonic() - started < FAST + 5  # the resolver's own limit
        assert response.status_code == 400 and response.json()["reason"] == "mcpClientUnreachable"
        assert response.json()["errorMessage"].startswith("MCP client nx: could not resolve no-such-mcp.invalid")

    async def test_bad_credentials_say_401(self, me: Tenant, oauth_mcp: McpTestServer) -> None:
        auth = {"issuedAt": datetime.now(UTC).isoformat(), "accessToken": "wrong"}
        body = {"mcpClient": {"name": "locked", "url": oauth_mcp.url, "authentication": auth}}
        response = await me.client.post("/v1/ai/mcpClients/connect", json=body)
        assert response.status_code == 400
        assert response.json() == {
            "errorMessage": "MCP client locked: the server refused the credentials (401 Unauthorized) "
            f"at {oauth_mcp.url}",
            "reason": "mcpClientUnauthorized",
        }

    async def test_timeout(self, me: Tenant) -> None:
        """A server that accepts the connection and never answers."""

        async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read()  # until the client gives up
            writer.close()

        server = await asyncio.start_server(silent, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/mcp"
        try:
            started = time.monotonic()
            body = {"mcpClient": {"name": "mute", "url": url, "timeouts": {"connect": 0.5}}}
            response = await me.client.post("/v1/ai/mcpClients/connect", json=body)
            assert time.monotonic() - started < FAST
        finally:
            server.close()
            await server.wait_closed()
        assert response.status_code == 400
        assert response.json() == {
            "errorMessage": f"MCP client mute did not connect within 0.5s ({url})",
            "reason": "mcpClientTimeout",
        }

    async def test_invalid_grant(self, app: Server, me: Tenant, oauth_mcp: McpTestServer) -> None:
        assert oauth_mcp.oauth is not None
        oauth_mcp.oauth.refused_refresh.add("rt-0")
        body = {"mcpClient": {"name": "Gmail", "url": oauth_mcp.url, "authentication": expired_auth()}}
        response = await me.client.post("/v1/ai/mcpClients/connect", json=body)
        assert response.status_code == 400
        assert response.json() == {
            "errorMessage": "MCP client Gmail needs to be re-authenticated: "
            "the refresh token was refused (invalid_grant)",
            "reason": "mcpClientNeedsReauthentication",
        }


class TestOpenMcpClients:
    async def test_prefixes_disabled_tools_and_calls(self, app: Server, me: Tenant, mcp: McpTestServer) -> None:
        clients = [
            {"name": "Math Tools", "url": mcp.url, "disabledToolSlugs": ["secret_tool", "slow"]},
            {"name": "math-tools", "url": mcp.sse_url},
        ]
        setup = await open_for(app, me, clients)
        try:
            assert setup.errors == []
            first = {"kind": "mcpServer", "name": "Math Tools", "url": mcp.url}
            second = {"kind": "mcpServer", "name": "math-tools", "url": mcp.sse_url}
            assert setup.evaluated_tools == {
                "math_tools_add": first,
                "math_tools_fail": first,
                "math_tools_files_read": first,
                "math_tools_2_add": second,
                "math_tools_2_slow": second,
                "math_tools_2_fail": second,
                "math_tools_2_files_read": second,
                "math_tools_2_secret_tool": second,
            }
            model = calling(
                ("math_tools_add", {"a": 2, "b": 3}),
                ("math_tools_2_add", {"a": 40, "b": 2}),
                ("math_tools_fail", {"reason": "on purpose"}),
                ("math_tools_files_read", {"path": "/a"}),
            )
            seen: dict[str, set[str]] = {}

            def spy(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
                seen["tools"] = {t.name for t in info.function_tools}
                return model.function(messages, info)  # type: ignore[misc]

            result = await Agent(
                FunctionModel(spy, stream_function=model.stream_function), toolsets=setup.toolsets
            ).run("go")
            assert seen["tools"] == set(setup.evaluated_tools)  # disabled tools are not offered
            returns = tool_returns(result.all_messages())
            assert returns["math_tools_add"].content == 5 and returns["math_tools_2_add"].content == 42
            assert returns["math_tools_files_read"].content == "contents of /a"
            failed = returns["math_tools_fail"]
            assert failed.outcome == "failed" and "it failed: on purpose" in str(failed.content)
        finally:
            await setup.aclose()

    async def test_a_slow_tool_fails_at_the_call_timeout(self, app: Server, me: Tenant, mcp: McpTestServer) -> None:
        setup = await open_for(app, me, [{"name": "s", "url": mcp.url, "timeouts": {"call": 1.0}}])
        try:
            started = time.monotonic()
            result = await Agent(calling(("s_slow", {}), ("s_add", {"a": 1, "b": 1})), toolsets=setup.toolsets).run(
                "go"
            )
            assert time.monotonic() - started < FAST
            assert mcp.slow_started.is_set()
            returns = tool_returns(result.all_messages())
            assert returns["s_slow"].outcome == "failed"
            assert returns["s_slow"].content == "MCP tool slow of s did not answer within 1s"
            assert returns["s_add"].content == 2  # the other call and the turn go on
        finally:
            await setup.aclose()

    async def test_a_tool_of_its_own(self, app: Server, me: Tenant, mcp: McpTestServer) -> None:
        client = {"name": "s", "url": mcp.url, "timeouts": {"call": 60, "tools": {"slow": 0.2}}}
        setup = await open_for(app, me, [client])
        try:
            result = await Agent(calling(("s_slow", {})), toolsets=setup.toolsets).run("go")
            assert (
                tool_returns(result.all_messages())["s_slow"].content == "MCP tool slow of s did not answer within 0.2s"
            )
        finally:
            await setup.aclose()

    async def test_the_settings_call_timeout_applies(self, app: Server, me: Tenant, mcp: McpTestServer) -> None:
        setup = await open_for(app, me, [{"name": "s", "url": mcp.url}], mcp_call_timeout=0.2)
        try:
            result = await Agent(calling(("s_slow", {})), toolsets=setup.toolsets).run("go")
            assert (
                tool_returns(result.all_messages())["s_slow"].content == "MCP tool slow of s did not answer within 0.2s"
            )
        finally:
            await setup.aclose()

    async def test_unusable_clients_become_errors_fast(self, app: Server, me: Tenant, mcp: McpTestServer) -> None:
        clients = [
            {"name": "down", "url": "http://127.0.0.1:9/mcp"},
            {"name": "private", "url": "http://10.0.0.1/mcp"},
            {"kind": "connector", "name": "crm", "connectorUuid": str(uuid.uuid4()), "integrationSlug": "hubspot"},
            {"name": "bad", "url": "gopher://x"},
            {"name": "ok", "url": mcp.url},
        ]
        started = time.monotonic()
        setup = await open_for(app, me, clients)
        try:
            assert time.monotonic() - started < FAST
            errors = {e["mcpClient"]: e["errorMessage"] for e in setup.errors}
            assert set(errors) == {"down", "private", "crm", "bad"}
            assert errors["down"].startswith("MCP client down: could not connect to http://127.0.0.1:9/mcp")
            assert errors["private"] == (
                "MCP client private: refused to connect to 10.0.0.1 (from http://10.0.0.1/mcp): a private address; "
                "allow it with CARGOHOLD_ALLOW_PRIVATE_URLS"
            )
            assert "connector MCP clients are not available" in errors["crm"]
            assert errors["bad"] == "`mcpClients[3].url`: must be an http:// or https:// URL"
            assert "ok_add" in setup.evaluated_tools
        finally:
            await setup.aclose()

    async def test_no_clients(self, app: Server, me: Tenant) -> None:
        setup = await open_for(app, me, [])
        assert setup.toolsets == [] and setup.errors == [] and setup.evaluated_tools == {}
        await setup.aclose()


class TestOAuth:
    async def test_one_refresh_for_ten_concurrent_turns(
        self, app: Server, me: Tenant, oauth_mcp: McpTestServer
    ) -> None:
        oauth = oauth_mcp.oauth
        assert oauth is not None
        clients = [{"name": "Drive", "url": oauth_mcp.url, "authentication": expired_auth(clientSecret="shh")}]
        async with AsyncExitStack() as stack:
            setups = await asyncio.gather(*(open_for(app, me, clients) for _ in range(10)))
            for setup in setups:
                stack.push_async_callback(setup.aclose)
            assert [s.errors for s in setups] == [[]] * 10
            assert oauth.refresh_calls == 1
            form = oauth.seen_forms[0]
            assert form["grant_type"] == "refresh_token" and form["refresh_token"] == "rt-0"
            assert form["client_id"] == "app" and form["client_secret"] == "shh" and form["resource"] == oauth_mcp.url
            results = await asyncio.gather(
                *(
                    Agent(calling(("drive_add", {"a": i, "b": 1})), toolsets=s.toolsets).run("go")
                    for i, s in enumerate(setups)
                )
            )
            assert [tool_returns(r.all_messages())["drive_add"].content for r in results] == [i + 1 for i in range(10)]

        key = connection_key(oauth_mcp.url, "app", "rt-0")
        async with app.state.sessions() as session:
            row = await read_connection(session, me.workspace_uuid, key)
        assert row is not None and row.access_token == "at-1" and row.refresh_token == "rt-1"
        assert row.expires_at is not None and row.expires_at > datetime.now(UTC) + timedelta(minutes=50)
        assert not row.needs_reauth

        # A later turn with the same (stale) configuration uses the stored set: no refresh, and the
        # old access token is no longer needed.
        oauth.valid.discard("at-0")
        setup = await open_for(app, me, clients)
        try:
            assert setup.errors == [] and oauth.refresh_calls == 1
            result = await Agent(calling(("drive_add", {"a": 1, "b": 1})), toolsets=setup.toolsets).run("go")
            assert tool_returns(result.all_messages())["drive_add"].content == 2
        finally:
            await setup.aclose()

    async def test_one_refresh_for_ten_concurrent_calls_mid_turn(
        self, app: Server, me: Tenant, oauth_mcp: McpTestServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The token was fresh when the turn connected and is due by the time it calls ten tools."""
        oauth = oauth_mcp.oauth
        assert oauth is not None
        oauth.expires_in = 30 * 24 * 3600
        auth = {**expired_auth(), "issuedAt": datetime.now(UTC).isoformat()}
        setup = await open_for(app, me, [{"name": "Drive", "url": oauth_mcp.url, "authentication": auth}])
        try:
            assert setup.errors == [] and oauth.refresh_calls == 0
            monkeypatch.setattr(mcp_auth, "REFRESH_MARGIN", timedelta(days=1))  # at-0 is now due
            oauth.valid.discard("at-0")
            calls = [("drive_add", {"a": i, "b": 0}) for i in range(10)]
            model = FunctionModel(
                lambda messages, info: (
                    ModelResponse(parts=[TextPart("done")])
                    if tool_returns(messages)
                    else ModelResponse(
                        parts=[ToolCallPart(name, args, tool_call_id=f"c{i}") for i, (name, args) in enumerate(calls)]
                    )
                ),
                stream_function=calling().stream_function,
            )
            result = await Agent(model, toolsets=setup.toolsets).run("go")
            contents = sorted(
                p.content
                for m in result.all_messages()
                for p in getattr(m, "parts", [])
                if isinstance(p, ToolReturnPart)
            )
            assert contents == list(range(10))
            assert oauth.refresh_calls == 1
        finally:
            await setup.aclose()

    async def test_a_refresh_refused_mid_turn_is_a_clear_tool_error(
        self, app: Server, me: Tenant, oauth_mcp: McpTestServer, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        oauth = oauth_mcp.oauth
        assert oauth is not None
        auth = {**expired_auth(), "issuedAt": datetime.now(UTC).isoformat()}
        setup = await open_for(app, me, [{"name": "Drive", "url": oauth_mcp.url, "authentication": auth}])
        try:
            monkeypatch.setattr(mcp_auth, "REFRESH_MARGIN", timedelta(days=1))
            oauth.refused_refresh.add("rt-0")
            started = time.monotonic()
            result = await Agent(calling(("drive_add", {"a": 1, "b": 1})), toolsets=setup.toolsets).run("go")
            assert time.monotonic() - started < FAST
            failed = tool_returns(result.all_messages())["drive_add"]
            assert failed.outcome == "failed"
            assert failed.content == (
                "MCP tool add of Drive failed: MCP client Drive needs to be re-authenticated: "
                "the refresh token was refused (invalid_grant)"
            )
        finally:
            await setup.aclose()

    async def test_a_rejected_token_is_refreshed_once(self, app: Server, me: Tenant, oauth_mcp: McpTestServer) -> None:
        """The token looks valid by its dates, but the server says 401: refresh and retry once."""
        oauth = oauth_mcp.oauth
        assert oauth is not None
        oauth.valid.discard("at-0")
        auth = {**expired_auth(), "issuedAt": datetime.now(UTC).isoformat()}
        setup = await open_for(app, me, [{"name": "Drive", "url": oauth_mcp.url, "authentication": auth}])
        try:
            assert setup.errors == [] and oauth.refresh_calls == 1
        finally:
            await setup.aclose()

    async def test_invalid_grant_needs_reauth(self, app: Server, me: Tenant, oauth_mcp: McpTestServer) -> None:
        oauth = oauth_mcp.oauth
        assert oauth is not None
        oauth.refused_refresh.add("rt-0")
        clients = [{"name": "Gmail", "url": oauth_mcp.url, "authentication": expired_auth()}]
        message = "MCP client Gmail needs to be re-authenticated: the refresh token was refused (invalid_grant)"
        setup = await open_for(app, me, clients)
        assert setup.errors == [{"mcpClient": "Gmail", "errorMessage": message}] and setup.toolsets == []
        async with app.state.sessions() as session:
            row = await read_connection(session, me.workspace_uuid, connection_key(oauth_mcp.url, "app", "rt-0"))
        assert row is not None and row.needs_reauth and row.error_message == message
        assert row.access_token is None and row.refresh_token is None

        again = await open_for(app, me, clients)  # known: no second refresh attempt
        assert oauth.refresh_calls == 1
        assert again.errors == [{"mcpClient": "Gmail", "errorMessage": message}]

        fresh = expired_auth(refreshToken="rt-new")  # a new token set from the client starts afresh
        oauth.refresh_tokens.add("rt-new")
        ok = await open_for(app, me, [{"name": "Gmail", "url": oauth_mcp.url, "authentication": fresh}])
        try:
            assert ok.errors == [] and oauth.refresh_calls == 2
        finally:
            await ok.aclose()

    async def test_workspaces_do_not_share_tokens(
        self, app: Server, me: Tenant, make_tenant: MakeTenant, oauth_mcp: McpTestServer
    ) -> None:
        oauth = oauth_mcp.oauth
        assert oauth is not None
        other = await make_tenant(app, "other")
        clients = [{"name": "Drive", "url": oauth_mcp.url, "authentication": expired_auth()}]
        first = await open_for(app, me, clients)
        await first.aclose()
        second = await open_for(app, other, clients)  # rt-0 was rotated by the first workspace's refresh
        await second.aclose()
        assert oauth.refresh_calls == 2
        assert second.errors[0]["errorMessage"].startswith("MCP client Drive needs to be re-authenticated")


class TestToolNames:
    def test_safe_unique_and_short(self) -> None:
        long = "x" * 80
        names = _model_names("crm", ["files.read", "files/read", long, long + "y"])
        assert list(names.values()) == ["files.read", "files/read", long, long + "y"]
        assert list(names)[:2] == ["crm_files_read", "crm_files_read_2"]
        assert all(len(n) <= 64 and re.fullmatch(r"[A-Za-z0-9_-]+", n) for n in names)
        assert len(set(names)) == 4


class TestSchemas:
    def test_parse_names_the_bad_field(self) -> None:
        with pytest.raises(BadRequest, match=r"`mcpClients\[1\]\.authentication\.accessToken` is required"):
            parse_mcp_clients(
                [
                    {"name": "a", "url": "http://x/mcp"},
                    {"name": "b", "url": "http://y", "authentication": {"issuedAt": "2026-01-01T00:00:00Z"}},
                ]
            )
        with pytest.raises(BadRequest, match="two MCP clients are named 'a'"):
            parse_mcp_clients([{"name": "a", "url": "http://x/mcp"}, {"name": "a", "url": "http://y/mcp"}])
        with pytest.raises(BadRequest, match=r"`mcpClients\[0\]`: `kind` must be custom or connector"):
            parse_mcp_clients([{"kind": "stdio", "name": "a"}])
        with pytest.raises(BadRequest, match=r"`mcpClients\[0\]\.authentication\.issuedAt`: must be an ISO 8601 time"):
            parse_mcp_clients(
                [{"name": "a", "url": "http://x", "authentication": {"issuedAt": "soon", "accessToken": "t"}}]
            )

    def test_redact_and_restore(self) -> None:
        auth = {"issuedAt": "2026-01-01T00:00:00Z", "accessToken": "at", "refreshToken": "rt", "clientSecret": "cs"}
        key = "0" * 64
        stored = [
            {"name": "a", "url": "http://x/mcp", "authentication": auth, "credentialKey": key},
            {"name": "b", "url": "http://y/mcp"},
        ]
        shown = redact_mcp_clients(stored)
        assert shown[0] == {
            "name": "a",
            "url": "http://x/mcp",
            "authentication": {**auth, "accessToken": REDACTED, "refreshToken": REDACTED, "clientSecret": REDACTED},
        }
        assert stored[0]["authentication"]["accessToken"] == "at"  # a copy
        # Sent back masked, a client keeps its stored credential (by its key) ...
        assert restore_redacted(shown, stored)[0]["credentialKey"] == key
        # ... but not when its url changed: another server never gets the secret.
        moved = [{**shown[0], "url": "http://elsewhere/mcp"}]
        assert "credentialKey" not in restore_redacted(moved, stored)[0]
