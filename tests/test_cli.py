"""The CLI as a user runs it: `cargohold token create` prints a token that works."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx

from .harness import start_server


async def run_cli(*args: str, database_url: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}
    env["CARGOHOLD_DATABASE_URL"] = database_url
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cargohold",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class TestTokenCreate:
    async def test_needs_a_workspace_first(self, tmp_path: Any) -> None:
        code, _, err = await run_cli("token", "create", database_url=f"sqlite+aiosqlite:///{tmp_path}/fresh.db")
        assert code != 0 and "cargohold serve" in err

    async def test_prints_a_working_token(self, make_settings: Any) -> None:
        settings = make_settings(bootstrap=True)
        async with start_server(settings) as srv:
            code, out, _ = await run_cli("token", "create", "--name", "ci", database_url=settings.database_url)
            assert code == 0
            token = out.strip()
            assert token.startswith("chk_") and len(token) > 40
            async with httpx.AsyncClient(base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
                assert (await client.get("/v1/ai/chats/list")).json() == {"chats": []}
