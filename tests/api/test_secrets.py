"""Secrets stay secret (issue 9, item 5): one masking rule on every read, masks sent back keep a
stored secret only where it would go to the same place, webhook headers checked when saved,
secrets encrypted at rest, MCP credentials kept out of messages, MCP urls checked on save. SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from cargohold.crypto import PREFIX
from cargohold.db.rotate import rotate_secrets
from cargohold.db.tables import McpConnection, Message, Release
from cargohold.db.tables import Tool as ToolRow
from cargohold.runtime.toolsets.webhook import sign
from cargohold.schemas.tools import ToolRun
from cargohold.settings import Settings
from cargohold.store.mcp_connections import read_credential

from ..conftest import MakeTenant, Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..fakes.mcp_servers import serve_mcp
from ..fakes.webhook import webhook_server
from ..harness import Server, kind, start_server, stream_body, stream_turn

MASK = "********"
# Every kind of key a token endpoint or a client may put in `authentication`.
AUTH = {
    "issuedAt": "2026-11-23T10:00:00Z",
    "expiresIn": 3600,
    "clientId": "app",
    "accessToken": "at-s3cr3t",
    "refreshToken": "rt-s3cr3t",
    "clientSecret": "cs-s3cr3t",
    "id_token": "idt-s3cr3t",
    "apiKey": "ak-s3cr3t",
    "access_token": "snake-s3cr3t",
    "anything": "any-s3cr3t",
}
PINNED = {
    "url": "https://api.example.com/v1",
    "headers": {"Authorization": "Bearer hdr-s3cr3t", "X-Trace": "trace-s3cr3t"},
    "apiKey": "key-s3cr3t",
    "query": {"limit": 5},
}
HTTP_ACTION = {"kind": "connector", "slug": "api", "integrationSlug": "http", "actionSlug": "request"}


@pytest.fixture
async def app(make_settings: Callable[..., Settings]) -> AsyncIterator[Server]:
    async with start_server(make_settings(allow_private_urls="127.0.0.0/8")) as srv:
        yield srv


@pytest.fixture
async def me(app: Server, make_tenant: MakeTenant) -> Tenant:
    return await make_tenant(app)


async def new_agent(tenant: Tenant) -> str:
    response = await tenant.client.post("/v1/ai/agents", json={"name": "Vault"})
    assert response.status_code == 200, response.text
    return str(response.json()["agent"]["uuid"])


async def update_draft(tenant: Tenant, agent: str, **fields: Any) -> Any:
    return await tenant.client.put("/v1/ai/releases/updateDraft", json={"agentUuid": agent, **fields})


async def get_draft(tenant: Tenant, agent: str) -> dict[str, Any]:
    response = await tenant.client.get("/v1/ai/releases/getDraft", params={"agentUuid": agent})
    assert response.status_code == 200, response.text
    return dict(response.json()["release"])


async def raw_text(app: Server, query: str) -> str:
    """What the database holds, read with plain SQL (no column type decrypts it)."""
    async with app.state.engine.connect() as conn:
        rows = (await conn.execute(sa.text(query))).all()
    return json.dumps([[str(v) for v in row] for row in rows])


class TestOneMaskingRule:
    async def test_no_read_returns_an_mcp_or_pinned_secret(self, me: Tenant) -> None:
        agent = await new_agent(me)
        client = {"name": "crm", "url": "https://mcp.example.com/mcp", "authentication": AUTH}
        updated = await update_draft(me, agent, mcpClients=[client], actions=[{**HTTP_ACTION, "config": PINNED}])
        assert updated.status_code == 200, updated.text
        deployed = await me.client.post("/v1/ai/releases/deployDraft", json={"agentUuid": agent})
        assert deployed.status_code == 200, deployed.text
        release = deployed.json()["release"]["uuid"]
        reads = [updated, deployed]
        for path, params in [
            ("/v1/ai/releases/getDraft", {"agentUuid": agent}),
            ("/v1/ai/releases/draft", {"agentUuid": agent}),
            ("/v1/ai/releases/deployed", {"agentUuid": agent}),
            ("/v1/ai/releases/list", {}),
            (f"/v1/ai/releases/{release}", {}),
            ("/v1/ai/agents/list", {}),
            (f"/v1/ai/agents/{agent}", {}),
        ]:
            reads.append(await me.client.get(path, params=params))
        for response in reads:
            assert response.status_code == 200, response.text
            assert "s3cr3t" not in response.text, str(response.url)
            assert "credentialKey" not in response.text
        shown = await get_draft(me, agent)
        assert shown["mcpClients"][0]["authentication"] == {
            **{k: MASK for k in AUTH},
            "issuedAt": AUTH["issuedAt"],
            "expiresIn": 3600,
            "clientId": "app",
        }
        for name in ("actions", "tools"):
            assert shown[name][0]["config"] == {
                "url": PINNED["url"],
                "headers": {"Authorization": MASK, "X-Trace": MASK},
                "apiKey": MASK,
                "query": {"limit": 5},
            }

    async def test_messages_never_return_mcp_secrets(self, me: Tenant, llm: FakeLLM) -> None:
        async with serve_mcp() as mcp:
            llm.script(Reply(text="Fine."))
            body = stream_body(mcpClients=[{"name": "calc", "url": mcp.url, "authentication": AUTH}])
            response, chunks = await stream_turn(me.client, body)
        assert response.status_code == 200
        for path, params in [
            (f"/v1/ai/messages/{chunks[0]['messageId']}", {}),
            ("/v1/ai/messages/list", {"chatUuid": body["chatUuid"]}),
            ("/v1/ai/chats/list", {}),
        ]:
            read = await me.client.get(path, params=params)
            assert read.status_code == 200 and "s3cr3t" not in read.text and "credentialKey" not in read.text

    async def test_messages_never_return_pinned_secrets(self, me: Tenant, llm: FakeLLM) -> None:
        llm.script(Reply(text="Fine."))
        body = stream_body(actions=[{**HTTP_ACTION, "config": PINNED}])
        response, _ = await stream_turn(me.client, body)
        assert response.status_code == 200
        listed = await me.client.get("/v1/ai/messages/list", params={"chatUuid": body["chatUuid"]})
        assert listed.status_code == 200 and "s3cr3t" not in listed.text

    def test_a_background_run_input_is_masked(self) -> None:
        run = ToolRun.model_validate(
            {
                "uuid": uuid.uuid4(),
                "workspace_uuid": uuid.uuid4(),
                "message_uuid": uuid.uuid4(),
                "tool_call_id": "c1",
                "slug": "api",
                "status": "executed",
                "input": {"q": "A-17", **PINNED},
                "output": None,
                "error_message": None,
                "created_at": "2026-12-03T10:00:00Z",
                "finished_at": None,
            }
        )
        shown = run.model_dump(mode="json", by_alias=True)
        assert "s3cr3t" not in json.dumps(shown) and shown["input"]["q"] == "A-17"


class TestSentBackMasked:
    async def test_keeps_the_stored_secret_in_the_same_place(self, app: Server, me: Tenant) -> None:
        agent = await new_agent(me)
        client = {"name": "crm", "url": "https://mcp.example.com/mcp", "authentication": AUTH}
        first = await update_draft(me, agent, mcpClients=[client], actions=[{**HTTP_ACTION, "config": PINNED}])
        assert first.status_code == 200, first.text
        shown = await get_draft(me, agent)
        again = await update_draft(me, agent, mcpClients=shown["mcpClients"], actions=shown["actions"])
        assert again.status_code == 200, again.text
        async with app.state.sessions() as session:
            release = await session.get(Release, uuid.UUID(shown["uuid"]))
            assert release is not None
            assert release.actions[0]["config"] == PINNED
            stored = release.mcp_clients[0]
            assert "s3cr3t" not in json.dumps(stored)
            kept = await read_credential(session, me.workspace_uuid, stored["credentialKey"], client["url"])
            assert kept == AUTH

    @pytest.mark.parametrize(
        ("field", "change", "named"),
        [
            ("actions", {"config": {**PINNED, "url": "https://evil.example.net/"}}, "actions[0].config."),
            ("actions", {"connectorUuid": None, "slug": "other"}, "actions[0].config."),
            ("mcpClients", {"url": "https://evil.example.net/mcp"}, "mcpClients[0].authentication."),
            ("mcpClients", {"name": "renamed"}, "mcpClients[0].authentication."),
        ],
    )
    async def test_is_refused_where_it_would_go_elsewhere(
        self, app: Server, me: Tenant, field: str, change: dict[str, Any], named: str
    ) -> None:
        agent = await new_agent(me)
        client = {"name": "crm", "url": "https://mcp.example.com/mcp", "authentication": AUTH}
        first = await update_draft(me, agent, mcpClients=[client], actions=[{**HTTP_ACTION, "config": PINNED}])
        assert first.status_code == 200, first.text
        shown = await get_draft(me, agent)
        if field == "actions" and "config" in change:  # the masked headers go to another host
            change = {"config": {**shown["actions"][0]["config"], "url": change["config"]["url"]}}
        moved = {**shown[field][0], **change}
        response = await update_draft(me, agent, **{field: [moved]})
        assert response.status_code == 400, response.text
        assert named in response.json()["errorMessage"] and "send" in response.json()["errorMessage"]
        assert await get_draft(me, agent) == shown  # nothing written


BAD_HEADERS = [
    ({"Host": "internal"}, "Host"),
    ({"content-length": "1"}, "content-length"),
    ({"Transfer-Encoding": "chunked"}, "Transfer-Encoding"),
    ({"Connection": "close"}, "Connection"),
    ({"x-cargohold-signature": "t=1,v1=00"}, "x-cargohold-signature"),
    ({"Bad Name": "v"}, "Bad Name"),
    ({"X-Split\r\nHost": "v"}, "X-Split"),
    ({"X-Api-Key": "a\r\nHost: evil"}, "X-Api-Key"),
    ({"X-Api-Key": "a\x00b"}, "X-Api-Key"),
    ({"X-Api-Key": "a\x1bb"}, "X-Api-Key"),
    ({"X-Api-Key": "a", "x-api-key": "b"}, "x-api-key"),
]


class TestWebhookHeaders:
    @pytest.mark.parametrize(("headers", "named"), BAD_HEADERS)
    async def test_checked_when_saved(self, me: Tenant, headers: dict[str, str], named: str) -> None:
        body = {"name": "Hook", "url": "http://127.0.0.1:9/ok", "headers": headers}
        created = await me.client.post("/v1/tools", json=body)
        assert created.status_code == 400, created.text
        assert named in created.json()["errorMessage"] and "headers" in created.json()["errorMessage"]
        ok = await me.client.post("/v1/tools", json={**body, "headers": {"X-Api-Key": "fine"}})
        assert ok.status_code == 200, ok.text
        updated = await me.client.put(f"/v1/tools/{ok.json()['tool']['uuid']}", json={"headers": headers})
        assert updated.status_code == 400 and named in updated.json()["errorMessage"]
        assert (await me.client.get("/v1/tools/list")).json()["tools"][0]["headers"] == {"X-Api-Key": MASK}

    async def test_stored_secrets_never_follow_a_new_url(self, app: Server, me: Tenant, llm: FakeLLM) -> None:
        async with webhook_server() as hook:
            created = await me.client.post(
                "/v1/tools",
                json={"name": "Hook", "url": hook.url("/ok"), "headers": {"X-Api-Key": "k-s3cr3t", "X-Other": "o"}},
            )
            assert created.status_code == 200 and "s3cr3t" not in created.text
            tool = created.json()["tool"]
            path = f"/v1/tools/{tool['uuid']}"
            # Same url: a mask keeps the stored value.
            same = await me.client.put(path, json={"headers": {"X-Api-Key": MASK}, "name": "Hook 2"})
            assert same.status_code == 200 and same.json()["tool"]["headers"] == {"X-Api-Key": MASK}
            # A new url with the mask sent back: the stored secret is dropped, a clear one kept.
            moved = await me.client.put(
                path, json={"url": hook.url("/ok?moved=1"), "headers": {"X-Api-Key": MASK, "X-New": "n"}}
            )
            assert moved.status_code == 200 and moved.json()["tool"]["headers"] == {"X-New": MASK}
            llm.script(Reply(tool_calls=[ToolCall("hook", {"q": "x"})]), Reply(text="Done."))
            body = stream_body(actions=[{"kind": "tool", "slug": "hook", "toolUuid": tool["uuid"]}])
            response, chunks = await stream_turn(me.client, body)
            assert response.status_code == 200 and any(kind(c) == "tool-output-available" for c in chunks)
            (call,) = hook.calls
            assert "x-api-key" not in call.headers and call.headers["x-new"] == "n"
            # A new url and no headers given: every stored header is dropped.
            await me.client.put(path, json={"headers": {"X-Api-Key": "k2-s3cr3t"}})
            bare = await me.client.put(path, json={"url": hook.url("/ok?again=1")})
            assert bare.status_code == 200 and bare.json()["tool"]["headers"] == {}
        async with app.state.sessions() as session:
            row = await session.get(ToolRow, uuid.UUID(tool["uuid"]))
            assert row is not None and row.headers == {}


class TestAtRest:
    async def test_the_database_holds_no_secret_in_clear(self, app: Server, me: Tenant, llm: FakeLLM) -> None:
        async with webhook_server() as hook, serve_mcp(oauth=True) as mcp:
            assert mcp.oauth is not None
            created = await me.client.post(
                "/v1/tools", json={"name": "Hook", "url": hook.url("/ok"), "headers": {"X-Api-Key": "k-s3cr3t"}}
            )
            signing_secret = created.json()["signingSecret"]
            tool = created.json()["tool"]["uuid"]
            agent = await new_agent(me)
            draft = await update_draft(
                me, agent, mcpClients=[{"name": "crm", "url": "https://mcp.example.com/mcp", "authentication": AUTH}]
            )
            assert draft.status_code == 200
            # A turn whose MCP token is expired: refreshed through the stored credential, then used.
            expired = {
                "issuedAt": "2020-01-01T00:00:00Z",
                "accessToken": "at-0",
                "expiresIn": 60,
                "refreshToken": "rt-0",
                "clientId": "app",
            }
            llm.script(
                Reply(tool_calls=[ToolCall("hook", {"q": "x"}, id="c1"), ToolCall("g_add", {"a": 2, "b": 3}, id="c2")]),
                Reply(text="Done."),
            )
            body = stream_body(
                actions=[{"kind": "tool", "slug": "hook", "toolUuid": tool}],
                mcpClients=[{"name": "g", "url": mcp.url, "authentication": expired}],
            )
            response, chunks = await stream_turn(me.client, body)
            assert response.status_code == 200
            outputs = {c["toolCallId"]: c["output"] for c in chunks if kind(c) == "tool-output-available"}
            assert outputs["c2"] == 5 and mcp.oauth.refresh_calls == 1
            (call,) = hook.calls
        # The webhook still gets its header and a signature made with the (decrypted) signing secret.
        stamp, _, given = call.headers["x-cargohold-signature"].partition(",v1=")
        assert call.headers["x-api-key"] == "k-s3cr3t"
        assert sign(signing_secret, int(stamp.removeprefix("t=")), call.body) == f"{stamp},v1={given}"

        tools = await raw_text(app, "SELECT headers, signing_secret FROM tools")
        assert "k-s3cr3t" not in tools and signing_secret not in tools and tools.count(PREFIX) == 2
        connections = await raw_text(app, "SELECT credential, access_token, refresh_token FROM mcp_connections")
        for secret in ("s3cr3t", '"at-0"', "rt-0", "at-1", "rt-1"):
            assert secret not in connections
        assert connections.count(PREFIX) == 4  # two credentials, and the refreshed token pair
        for table in ("releases", "messages"):
            held = await raw_text(app, f"SELECT CAST(mcp_clients AS TEXT) FROM {table}")
            assert "s3cr3t" not in held and "at-0" not in held and "rt-0" not in held and "credentialKey" in held
        async with app.state.sessions() as session:  # and the app reads them back
            (row,) = (
                await session.execute(sa.select(McpConnection).where(McpConnection.refreshed_at.is_not(None)))
            ).scalars()
            assert (row.access_token, row.refresh_token) == ("at-1", "rt-1")
            message = await session.get(Message, uuid.UUID(chunks[0]["messageId"]))
            assert message is not None and message.mcp_clients[0]["authentication"]["accessToken"] == MASK

    async def test_a_key_can_be_rotated(self, make_settings: Callable[..., Settings], make_tenant: MakeTenant) -> None:
        old, new = "old-key-0123456789abcdef", "new-key-0123456789abcdef"
        async with start_server(make_settings(secret_key=old, allow_private_urls="127.0.0.0/8")) as srv:
            me = await make_tenant(srv)
            created = await me.client.post(
                "/v1/tools", json={"name": "H", "url": "http://127.0.0.1:9/x", "headers": {"X-K": "v-s3cr3t"}}
            )
            assert created.status_code == 200
            tool = uuid.UUID(created.json()["tool"]["uuid"])
        async with start_server(make_settings(secret_key=f"{new},{old}")) as srv:
            async with srv.state.sessions() as session:
                row = await session.get(ToolRow, tool)
                assert row is not None and row.headers == {"X-K": "v-s3cr3t"}  # written with the old key
            async with srv.state.sessions() as session, session.begin():
                row = await session.get(ToolRow, tool)
                assert row is not None
                row.headers = {"X-K": "v2-s3cr3t"}  # written with the new key
            # Then everything still under the old key is re-encrypted (`cargohold secrets rotate`).
            assert await rotate_secrets(srv.state.engine) >= 2
        async with start_server(make_settings(secret_key=new)) as srv:
            async with srv.state.sessions() as session:
                row = await session.get(ToolRow, tool)
                assert row is not None and row.headers == {"X-K": "v2-s3cr3t"}


class TestMcpUrlsCheckedOnSave:
    async def test_a_private_url_is_refused_up_front(self, server: Server, tenant: Tenant) -> None:
        """As `/v1/tools` does (the server allows no private address)."""
        url = "http://10.1.2.3/mcp"
        tool = await tenant.client.post("/v1/tools", json={"name": "T", "url": url})
        assert tool.status_code == 400
        expected = tool.json()["errorMessage"].removeprefix("`url`: ")
        agent = await new_agent(tenant)
        before = await get_draft(tenant, agent)
        for path, method in [("/v1/ai/releases/updateDraft", "PUT"), ("/v1/ai/releases/deployDraft", "POST")]:
            response = await tenant.client.request(
                method, path, json={"agentUuid": agent, "mcpClients": [{"name": "m", "url": url}]}
            )
            assert response.status_code == 400, response.text
            assert response.json() == {
                "errorMessage": f"`mcpClients[0].url`: {expected}",
                "reason": tool.json()["reason"],
            }
        assert await get_draft(tenant, agent) == before
        turn = await tenant.client.post(
            "/v1/ai/messages/stream", json=stream_body(mcpClients=[{"name": "m", "url": url}])
        )
        assert turn.status_code == 400 and turn.json()["errorMessage"] == f"`mcpClients[0].url`: {expected}"


async def test_mcp_connect_still_works_with_a_credential(me: Tenant) -> None:
    """The connect route takes a client in clear and stores nothing."""
    async with serve_mcp(oauth=True) as mcp:
        auth = {"issuedAt": datetime.now(UTC).isoformat(), "accessToken": "at-0", "id_token": "x"}
        body = {"mcpClient": {"name": "g", "url": mcp.url, "authentication": auth}}
        response = await me.client.post("/v1/ai/mcpClients/connect", json=body)
        assert response.status_code == 200, response.text


class TestPinnedSecretsAtRest:
    async def test_pinned_secrets_are_sealed_in_messages_releases_and_tool_runs(
        self, app: Server, me: Tenant, llm: FakeLLM
    ) -> None:
        from ..harness import wait_until

        async with webhook_server() as hook:
            pinned = {"url": hook.url("/ok"), "method": "POST", "headers": {"Authorization": "Bearer pin-s3cr3t"}}
            created = await me.client.post("/v1/tools", json={"name": "Hook", "url": hook.url("/ok")})
            background = {
                "kind": "tool",
                "slug": "api_bg",
                "toolUuid": created.json()["tool"]["uuid"],
                "config": {"apiKey": "pin-s3cr3t"},
                "waitUntilFinished": False,
            }
            actions = [{**HTTP_ACTION, "slug": "api", "config": pinned}, background]
            agent = await new_agent(me)
            drafted = await update_draft(me, agent, actions=actions)
            assert drafted.status_code == 200, drafted.text
            llm.script(
                Reply(tool_calls=[ToolCall("api", {"json": {"input": 1}}, id="c1"), ToolCall("api_bg", {}, id="c2")]),
                Reply(text="Sent."),
            )
            response, _ = await stream_turn(me.client, stream_body(actions=actions))
            assert response.status_code == 200
            await wait_until(lambda: len(hook.calls) == 2)
            # The secrets still go where they were pinned to.
            by_path = {c.headers.get("authorization"): c for c in hook.calls}
            assert "Bearer pin-s3cr3t" in by_path
            assert any(b"pin-s3cr3t" in c.body and "authorization" not in c.headers for c in hook.calls)
        for table, column in (("messages", "actions"), ("releases", "actions"), ("tool_runs", "input")):
            held = await raw_text(app, f"SELECT CAST({column} AS TEXT) FROM {table}")
            assert "pin-s3cr3t" not in held and PREFIX in held, (table, held[:300])
            if column == "actions":  # only the secret is sealed; the rest stays readable
                assert hook.url("/ok") in held
        async with app.state.sessions() as session:  # and the app reads them back in clear
            message = (await session.execute(sa.select(Message).where(Message.type == "assistant"))).scalars().one()
            assert message.actions[0]["config"]["headers"]["Authorization"] == "Bearer pin-s3cr3t"
