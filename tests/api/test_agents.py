"""Agents and releases over HTTP: CRUD, both field and path generations, deploy and archive."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cargohold.db.tables import Release
from cargohold.store.mcp_connections import read_credential

from ..conftest import MakeTenant, Tenant
from ..harness import Server, new_uuid

CRON = {"type": "cron", "name": "Daily digest", "cron": "0 9 * * 1-5", "text": "Summarise yesterday"}


async def make_agent(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    response = await tenant.client.post("/v1/ai/agents", json={"name": "Scout", **fields})
    assert response.status_code == 200, response.text
    return response.json()["agent"]


async def draft_of(tenant: Tenant, agent_uuid: str, path: str = "/v1/ai/releases/getDraft") -> dict[str, Any]:
    response = await tenant.client.get(path, params={"agentUuid": agent_uuid})
    assert response.status_code == 200, response.text
    return response.json()["release"]


class TestAgents:
    async def test_create_get_list_update_delete(self, server: Server, tenant: Tenant) -> None:
        agent = await make_agent(
            tenant, icon={"color": "blue", "face": "🛰️"}, description="Finds leads", triggers=[CRON]
        )
        assert agent["name"] == "Scout" and agent["icon"] == {"color": "blue", "face": "🛰️"}
        assert agent["workspaceUuid"] == str(tenant.workspace_uuid) and agent["userUuid"] == str(tenant.user_uuid)
        assert agent["triggers"] == agent["deployments"] == [{**CRON, "description": None}]
        assert agent["deployedRelease"] is None and agent["deletedAt"] is None and agent["isReadOnly"] is False

        got = (await tenant.client.get(f"/v1/ai/agents/{agent['uuid']}")).json()["agent"]
        assert got == agent
        second = await make_agent(tenant, name="Closer")
        listed = (await tenant.client.get("/v1/ai/agents/list")).json()["agents"]
        assert [a["uuid"] for a in listed] == [second["uuid"], agent["uuid"]]

        # The older field name, and a partial update that leaves the rest alone.
        trigger = {"type": "connector", "name": "Slack", "integrationSlug": "slack", "config": {"channel": "C1"}}
        response = await tenant.client.put(
            f"/v1/ai/agents/{agent['uuid']}", json={"name": "Scout 2", "deployments": [trigger]}
        )
        updated = response.json()["agent"]
        assert updated["name"] == "Scout 2" and updated["description"] == "Finds leads"
        assert updated["triggers"][0]["integrationSlug"] == "slack" and updated["triggers"] == updated["deployments"]
        cleared = (await tenant.client.put(f"/v1/ai/agents/{agent['uuid']}", json={"description": None})).json()
        assert cleared["agent"]["description"] is None and cleared["agent"]["name"] == "Scout 2"

        assert (await tenant.client.delete(f"/v1/ai/agents/{agent['uuid']}")).status_code == 200
        gone = await tenant.client.get(f"/v1/ai/agents/{agent['uuid']}")
        assert gone.status_code == 404 and gone.json()["reason"] == "agentNotFound"
        assert [a["uuid"] for a in (await tenant.client.get("/v1/ai/agents/list")).json()["agents"]] == [second["uuid"]]
        draft = await tenant.client.get("/v1/ai/releases/getDraft", params={"agentUuid": agent["uuid"]})
        assert draft.status_code == 404 and draft.json()["reason"] == "agentNotFound"

    async def test_cron_trigger_has_no_schedule_id_without_temporal(self, server: Server, tenant: Tenant) -> None:
        """`temporalScheduleWorkflowId` is server-set: without Temporal it is left out, deployed or
        not; an agent read sent back with it (a client's echo) is taken, the field ignored."""
        agent = await make_agent(tenant, triggers=[CRON])
        deployed = await tenant.client.post("/v1/ai/releases/deployDraft", json={"agentUuid": agent["uuid"]})
        assert deployed.status_code == 200, deployed.text
        got = (await tenant.client.get(f"/v1/ai/agents/{agent['uuid']}")).json()["agent"]
        assert got["deployedRelease"] is not None
        assert got["triggers"] == [{**CRON, "description": None}]
        echoed = {**CRON, "temporalScheduleWorkflowId": "cargohold-cron-forged"}
        response = await tenant.client.put(f"/v1/ai/agents/{agent['uuid']}", json={"triggers": [echoed]})
        assert response.status_code == 200, response.text
        assert response.json()["agent"]["triggers"] == [{**CRON, "description": None}]
        listed = (await tenant.client.get("/v1/ai/agents/list")).json()["agents"]
        assert listed[0]["triggers"] == listed[0]["deployments"] == [{**CRON, "description": None}]

    @pytest.mark.parametrize(
        ("body", "named"),
        [
            ({}, "name"),
            ({"name": ""}, "name"),
            ({"name": "x", "icon": {"color": "pink"}}, "icon.color"),
            ({"name": "x", "triggers": [{**CRON, "cron": "every day"}]}, "cron"),
            ({"name": "x", "triggers": [CRON], "deployments": [CRON]}, "triggers"),
            ({"name": "x", "folderUuid": "nope"}, "folderUuid"),
            ({"name": "x", "colour": "red"}, "colour"),
        ],
    )
    async def test_bad_bodies(self, server: Server, tenant: Tenant, body: dict[str, Any], named: str) -> None:
        response = await tenant.client.post("/v1/ai/agents", json=body)
        assert response.status_code == 400 and named in response.json()["errorMessage"], response.text
        assert (await tenant.client.get("/v1/ai/agents/list")).json() == {"agents": []}

    async def test_other_workspace_sees_nothing(self, server: Server, make_tenant: MakeTenant) -> None:
        owner, other = await make_tenant(server), await make_tenant(server, "other")
        agent = await make_agent(owner)
        draft = await draft_of(owner, agent["uuid"])
        for method, path, kwargs in [
            ("GET", f"/v1/ai/agents/{agent['uuid']}", {}),
            ("PUT", f"/v1/ai/agents/{agent['uuid']}", {"json": {"name": "mine"}}),
            ("DELETE", f"/v1/ai/agents/{agent['uuid']}", {}),
            ("GET", f"/v1/ai/releases/{draft['uuid']}", {}),
            ("GET", "/v1/ai/releases/getDraft", {"params": {"agentUuid": agent["uuid"]}}),
            ("GET", "/v1/ai/releases/deployed", {"params": {"agentUuid": agent["uuid"]}}),
            ("PUT", "/v1/ai/releases/updateDraft", {"json": {"agentUuid": agent["uuid"], "systemPrompt": "x"}}),
            ("POST", "/v1/ai/releases/deployDraft", {"json": {"agentUuid": agent["uuid"]}}),
        ]:
            response = await other.client.request(method, path, **kwargs)
            assert response.status_code == 404, (method, path, response.text)
        assert (await other.client.get("/v1/ai/agents/list")).json() == {"agents": []}
        assert (await other.client.get("/v1/ai/releases/list")).json() == {"releases": []}
        assert (await owner.client.get(f"/v1/ai/agents/{agent['uuid']}")).json()["agent"]["name"] == "Scout"


class TestReleases:
    async def test_draft_update_deploy_archive(self, server: Server, tenant: Tenant) -> None:
        agent = await make_agent(tenant)
        draft = await draft_of(tenant, agent["uuid"])
        assert draft["status"] == "draft" and draft["agentUuid"] == agent["uuid"] and draft["parentUuid"] is None
        assert draft["version"] is None and draft["actions"] == draft["tools"] == []
        assert await draft_of(tenant, agent["uuid"], "/v1/ai/releases/draft") == draft  # the SDK path

        response = await tenant.client.put(
            "/v1/ai/releases/updateDraft",
            json={
                "agentUuid": agent["uuid"],
                "systemPrompt": "You are Scout.",
                "temperature": 0.2,
                "maxSteps": 4,
                "languageModelSlug": "gpt-test",
                "integrationSlug": "openai",
                "suggestedActions": [{"text": "Find leads", "actions": []}],
                "tools": [{"kind": "connector", "slug": "fetch", "integrationSlug": "http", "actionSlug": "request"}],
            },
        )
        assert response.status_code == 200, response.text
        updated = response.json()["release"]
        assert updated["uuid"] == draft["uuid"] and updated["systemPrompt"] == "You are Scout."
        assert updated["actions"] == updated["tools"] and updated["actions"][0]["slug"] == "fetch"
        assert updated["actions"][0]["isBulkAllowed"] is False and updated["actions"][0]["config"] == {}
        # The SDK path, a partial update: other fields stay.
        response = await tenant.client.put(
            "/v1/ai/releases/draft/update", json={"agentUuid": agent["uuid"], "temperature": 0.5}
        )
        assert response.json()["release"]["temperature"] == 0.5
        assert response.json()["release"]["systemPrompt"] == "You are Scout."

        first = (
            await tenant.client.post(
                "/v1/ai/releases/deployDraft", json={"agentUuid": agent["uuid"], "description": "First cut"}
            )
        ).json()["release"]
        assert first["uuid"] == draft["uuid"] and first["status"] == "deployed" and first["version"] == "1.0.0"
        assert first["description"] == "First cut" and first["deployedAt"] is not None
        new_draft = await draft_of(tenant, agent["uuid"])
        assert new_draft["uuid"] != first["uuid"] and new_draft["parentUuid"] == first["uuid"]
        assert new_draft["status"] == "draft" and new_draft["systemPrompt"] == "You are Scout."
        assert new_draft["actions"] == first["actions"] and new_draft["version"] is None
        deployed = (await tenant.client.get("/v1/ai/releases/deployed", params={"agentUuid": agent["uuid"]})).json()
        assert deployed["release"]["uuid"] == first["uuid"]
        got = (await tenant.client.get(f"/v1/ai/agents/{agent['uuid']}")).json()["agent"]
        assert got["deployedRelease"]["uuid"] == first["uuid"] and got["deployedRelease"]["version"] == "1.0.0"
        assert "status" not in got["deployedRelease"] and "agentUuid" not in got["deployedRelease"]

        # Deploying again (SDK path, explicit version, a config change in the same call).
        second = (
            await tenant.client.post(
                "/v1/ai/releases/draft/deploy",
                json={"agentUuid": agent["uuid"], "version": "2.0", "systemPrompt": "You are Scout v2."},
            )
        ).json()["release"]
        assert second["uuid"] == new_draft["uuid"] and second["version"] == "2.0"
        assert second["systemPrompt"] == "You are Scout v2." and second["parentUuid"] == first["uuid"]
        archived = (await tenant.client.get(f"/v1/ai/releases/{first['uuid']}")).json()["release"]
        assert archived["status"] == "archived"

        releases = (await tenant.client.get("/v1/ai/releases/list", params={"agentUuid": agent["uuid"]})).json()
        assert [r["status"] for r in releases["releases"]] == ["draft", "deployed", "archived"]
        only = await tenant.client.get(
            "/v1/ai/releases/list", params={"agentUuid": agent["uuid"], "statuses[]": ["deployed", "archived"]}
        )
        assert [r["uuid"] for r in only.json()["releases"]] == [second["uuid"], first["uuid"]]
        page = await tenant.client.get(
            "/v1/ai/releases/list", params={"agentUuid": agent["uuid"], "limit": 1, "offset": 1}
        )
        assert [r["uuid"] for r in page.json()["releases"]] == [second["uuid"]]
        mine = await tenant.client.get("/v1/ai/releases/list", params={"userUuid": str(tenant.user_uuid)})
        assert len(mine.json()["releases"]) == 3
        nobody = await tenant.client.get("/v1/ai/releases/list", params={"userUuid": new_uuid()})
        assert nobody.json() == {"releases": []}

    async def test_versions_must_go_up(self, server: Server, tenant: Tenant) -> None:
        agent = await make_agent(tenant)
        deploy = "/v1/ai/releases/deployDraft"
        assert (
            await tenant.client.post(deploy, json={"agentUuid": agent["uuid"], "version": "1.4"})
        ).status_code == 200
        for version in ("1.4", "1.3.9", "one", "1.2.3.4", ""):
            response = await tenant.client.post(deploy, json={"agentUuid": agent["uuid"], "version": version})
            assert response.status_code == 400, version
            assert response.json()["reason"] == "invalidReleaseVersion", response.json()
        # Nothing changed by the refused deploys: one deployed release, one draft.
        statuses = [r["status"] for r in (await tenant.client.get("/v1/ai/releases/list")).json()["releases"]]
        assert sorted(statuses) == ["deployed", "draft"]
        auto = (await tenant.client.post(deploy, json={"agentUuid": agent["uuid"]})).json()["release"]
        assert auto["version"] == "1.4.1"

    async def test_reasons(self, server: Server, tenant: Tenant) -> None:
        missing = new_uuid()
        cases = [
            ("GET", "/v1/ai/releases/getDraft", {"params": {"agentUuid": missing}}, 404, "agentNotFound"),
            ("GET", "/v1/ai/releases/deployed", {"params": {"agentUuid": missing}}, 404, "agentNotFound"),
            ("PUT", "/v1/ai/releases/updateDraft", {"json": {"agentUuid": missing}}, 404, "agentNotFound"),
            ("POST", "/v1/ai/releases/deployDraft", {"json": {"agentUuid": missing}}, 404, "agentNotFound"),
            ("GET", f"/v1/ai/releases/{missing}", {}, 404, "releaseNotFound"),
        ]
        agent = await make_agent(tenant)
        cases += [
            ("GET", "/v1/ai/releases/deployed", {"params": {"agentUuid": agent["uuid"]}}, 404, "releaseNotFound"),
            (
                "PUT",
                "/v1/ai/releases/updateDraft",
                {"json": {"agentUuid": agent["uuid"], "parentUuid": missing}},
                400,
                "invalidParent",
            ),
            (
                "PUT",
                "/v1/ai/releases/updateDraft",
                {"json": {"agentUuid": agent["uuid"], "actions": [{"kind": "tool", "slug": "x", "toolUuid": missing}]}},
                400,
                "failedToReconciliateAgentAiTools",
            ),
            (
                "PUT",
                "/v1/ai/releases/updateDraft",
                {"json": {"agentUuid": agent["uuid"], "connectorUuid": missing}},
                404,
                "connectorNotFound",
            ),
        ]
        for method, path, kwargs, status, reason in cases:
            response = await tenant.client.request(method, path, **kwargs)
            assert (response.status_code, response.json().get("reason")) == (status, reason), (path, response.text)
        for body, named in [
            ({"agentUuid": agent["uuid"], "actions": [], "tools": []}, "actions"),
            ({"agentUuid": agent["uuid"], "languageModelSlug": "llama", "integrationSlug": "offline"}, "llama"),
            ({"agentUuid": agent["uuid"], "resources": [{"kind": "file"}]}, "resources"),
            ({"agentUuid": agent["uuid"], "output": {"type": "text"}}, "output"),
            ({"agentUuid": agent["uuid"], "maxSteps": 10_000}, "maxSteps"),
            ({"agentUuid": agent["uuid"], "flavour": "x"}, "flavour"),
        ]:
            response = await tenant.client.put("/v1/ai/releases/updateDraft", json=body)
            assert response.status_code == 400 and named in response.json()["errorMessage"], response.text
        assert (await draft_of(tenant, agent["uuid"]))["actions"] == []

    async def test_secrets_are_never_returned(self, server: Server, tenant: Tenant) -> None:
        agent = await make_agent(tenant)
        client = {
            "kind": "custom",
            "name": "crm",
            "url": "https://mcp.example.com/mcp",
            "authentication": {
                "issuedAt": "2026-11-23T10:00:00Z",
                "accessToken": "at-secret-1",
                "refreshToken": "rt-secret-1",
                "expiresIn": 3600,
            },
            "disabledToolSlugs": [],
        }
        response = await tenant.client.put(
            "/v1/ai/releases/updateDraft", json={"agentUuid": agent["uuid"], "mcpClients": [client]}
        )
        assert response.status_code == 200, response.text
        assert "secret" not in response.text
        shown = response.json()["release"]["mcpClients"][0]
        assert shown["authentication"]["accessToken"] == "********" and shown["name"] == "crm"
        # Sending back what a GET showed keeps the stored secrets (they still work after deploy).
        response = await tenant.client.put(
            "/v1/ai/releases/updateDraft",
            json={"agentUuid": agent["uuid"], "mcpClients": [shown], "systemPrompt": "x"},
        )
        assert response.status_code == 200 and "secret" not in response.text
        async with server.state.sessions() as session:
            stored = await session.get(Release, uuid.UUID(response.json()["release"]["uuid"]))
            assert stored is not None
            # The release holds the credential masked; the encrypted MCP connection store holds it.
            assert "secret" not in str(stored.mcp_clients)
            key = stored.mcp_clients[0]["credentialKey"]
            kept = await read_credential(session, tenant.workspace_uuid, key, client["url"])
            assert kept is not None and kept["accessToken"] == "at-secret-1" and kept["refreshToken"] == "rt-secret-1"
        deployed = await tenant.client.post("/v1/ai/releases/deployDraft", json={"agentUuid": agent["uuid"]})
        for path in ("/v1/ai/releases/list", "/v1/ai/agents/list", f"/v1/ai/agents/{agent['uuid']}"):
            assert "secret" not in (await tenant.client.get(path)).text
        assert "secret" not in deployed.text
