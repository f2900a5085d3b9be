"""Upload and wait helpers for the files tests (over real HTTP)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

FILES = "/v1/content/files"


async def upload(
    client: httpx.AsyncClient,
    name: str,
    data: bytes,
    content_type: str = "application/octet-stream",
    prefix: str = FILES,
    **fields: str,
) -> httpx.Response:
    return await client.post(f"{prefix}/upload", files={"file": (name, data, content_type)}, data=fields)


async def uploaded(client: httpx.AsyncClient, name: str, data: bytes, **fields: str) -> dict[str, Any]:
    response = await upload(client, name, data, **fields)
    assert response.status_code == 200, response.text
    (file,) = response.json()["files"]
    return file  # type: ignore[no-any-return]


async def wait_indexed(
    client: httpx.AsyncClient, file_uuid: str, statuses: tuple[str, ...] = ("ready", "error"), timeout: float = 180.0
) -> dict[str, Any]:
    """The file once its `indexStatus` is one of `statuses`: a condition polled every 50 ms with a
    deadline (slower than `wait_until`'s 10 ms, so the polling does not compete with the embedding
    work it waits for on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = (await client.get(f"{FILES}/{file_uuid}")).json().get("file", {})
        if found.get("indexStatus") in statuses:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"file {file_uuid} still {found.get('indexStatus')!r} after {timeout}s")
        await asyncio.sleep(0.05)
