"""Upload and wait helpers for the files tests (over real HTTP)."""

from __future__ import annotations

from typing import Any

import httpx

from ..harness import wait_until

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
    """The file once its `indexStatus` is one of `statuses` (`wait_until` on the file's read: its
    pause grows to 50 ms, so the polling does not compete with the embedding work it waits for)."""
    found: dict[str, Any] = {}

    async def settled() -> bool:
        nonlocal found
        found = (await client.get(f"{FILES}/{file_uuid}")).json().get("file", {})
        return found.get("indexStatus") in statuses

    try:
        await wait_until(settled, timeout=timeout)
    except TimeoutError:
        raise TimeoutError(f"file {file_uuid} still {found.get('indexStatus')!r} after {timeout}s") from None
    return found
