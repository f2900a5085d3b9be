"""`cargohold workspace create|list` and `cargohold token list|revoke` as an operator runs them,
against the database a real server uses: a listed token is never shown, and a revoked token is
refused on the very next request."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from .harness import start_server
from .test_cli import run_cli


def rows(out: str) -> list[list[str]]:
    """The table's data lines, split on runs of two or more spaces (names may hold one)."""
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in out.strip().splitlines()[1:]]


class TestWorkspaceAndTokens:
    async def test_create_list_revoke(self, make_settings: Any) -> None:
        settings = make_settings(bootstrap=True)
        db = settings.database_url
        async with start_server(settings) as srv:
            code, out, err = await run_cli("workspace", "create", "Acme Corp", database_url=db)
            assert code == 0, err
            workspace = uuid.UUID(out.strip())
            assert f"token create --workspace {workspace}" in err

            code, out, _ = await run_cli("workspace", "list", database_url=db)
            assert code == 0
            listed = {row[0]: row for row in rows(out)}
            assert out.splitlines()[0].split() == ["UUID", "NAME", "CREATED", "TOKENS"]
            assert listed[str(workspace)][1:2] == ["Acme Corp"] and listed[str(workspace)][3] == "0"
            assert len(listed) == 2  # the bootstrapped default one, and Acme

            code, out, _ = await run_cli(
                "token", "create", "--workspace", str(workspace), "--name", "ci", database_url=db
            )
            assert code == 0
            token = out.strip()

            code, out, _ = await run_cli("token", "list", "--workspace", str(workspace), database_url=db)
            assert code == 0
            [row] = rows(out)
            token_id, in_workspace, name, created, revoked = row
            assert in_workspace == str(workspace) and name == "ci" and revoked == "-"
            assert created[:4].isdigit()
            assert token not in out and token[:10] not in out  # never the token, nor its prefix

            code, out, _ = await run_cli("token", "list", database_url=db)
            assert len(rows(out)) == 2 and token not in out  # all workspaces: the default's token too

            async with httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
                assert (await client.get("/v1/ai/chats/list")).status_code == 200
                code, out, _ = await run_cli("token", "revoke", token_id, database_url=db)
                assert code == 0 and out.startswith(f"revoked {token_id} at ")
                response = await client.get("/v1/ai/chats/list")
                assert response.status_code == 401
                assert response.json()["errorMessage"] == "Invalid API token"

            code, out, _ = await run_cli("token", "list", "--workspace", str(workspace), database_url=db)
            [row] = rows(out)
            assert row[0] == token_id and row[4] != "-"
            code, out, _ = await run_cli("workspace", "list", database_url=db)
            assert {r[0]: r for r in rows(out)}[str(workspace)][3] == "0"

            code, out, _ = await run_cli("token", "revoke", token_id, database_url=db)  # again: harmless
            assert code == 0 and f"revoked {token_id}" in out

    async def test_revoke_unknown_and_bad_input(self, tmp_path: Any) -> None:
        db = f"sqlite+aiosqlite:///{tmp_path}/fresh.db"
        missing = uuid.uuid4()
        code, _, err = await run_cli("token", "revoke", str(missing), database_url=db)
        assert code == 1 and f"no token {missing}" in err
        code, _, err = await run_cli("token", "revoke", "not-a-uuid", database_url=db)
        assert code == 2  # typer refuses it before any database work
        code, out, _ = await run_cli("workspace", "list", database_url=db)
        assert code == 0 and out.strip() == "no workspaces yet"
        code, out, _ = await run_cli("token", "list", database_url=db)
        assert code == 0 and out.strip() == "no tokens"
        code, _, err = await run_cli("workspace", "create", "  ", database_url=db)
        assert code == 2
