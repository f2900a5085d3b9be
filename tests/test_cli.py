"""The CLI as a user runs it: `cargohold token create` prints a token that works."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import httpx

from .harness import start_server


async def run_cli(
    *args: str, database_url: str | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}
    if database_url is not None:
        env = {**env, "CARGOHOLD_DATABASE_URL": database_url}
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


class TestDataDir:
    async def test_the_embedded_default_lives_in_the_data_directory(self, tmp_path: Any) -> None:
        """With no database URL, `serve` says where its data is and keeps the database and its key
        there, whatever the working directory; `token create` finds the same database."""
        import contextlib
        import re

        from .serve_process import free_port

        data = tmp_path / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}
        env |= {"CARGOHOLD_DATA_DIR": str(data), "CARGOHOLD_DEFAULT_MODEL": "offline:offline"}
        port = free_port()
        work = tmp_path / "elsewhere"
        work.mkdir()
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cargohold", "serve", "--port", str(port),
            env=env, cwd=work, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        seen = ""
        try:
            while "Application startup complete" not in seen:
                line = await asyncio.wait_for(proc.stderr.readline(), timeout=30)
                assert line, seen
                seen += line.decode()
            assert f"data directory {data}" in seen
            token = re.search(r"(chk_\S+)", seen)
            assert token is not None
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                response = await client.get("/v1/ai/chats/list", headers={"Authorization": f"Bearer {token[1]}"})
                assert response.status_code == 200
        finally:
            proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), timeout=10)
        assert (data / "cargohold.db").exists() and (data / "cargohold.key").exists()
        assert (data / "cargohold.key").stat().st_mode & 0o077 == 0
        assert list(work.iterdir()) == []  # nothing written where it was started
        code, out, _ = await run_cli("token", "create", env=env)
        assert code == 0 and out.strip().startswith("chk_")
