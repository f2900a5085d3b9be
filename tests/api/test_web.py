"""GET / serves the playground's built page with a strict CSP, and only the files of its build."""

from __future__ import annotations

import re

import httpx

from cargohold.api.web import WEB_DIR

from ..harness import Server


async def test_index_has_a_strict_csp(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        index = await client.get("/")
    assert index.status_code == 200
    assert index.headers["content-type"].startswith("text/html")
    csp = index.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe" not in csp
    assert index.headers["x-content-type-options"] == "nosniff"
    assert "cdn" not in index.text.lower() and "<script>" not in index.text


async def test_only_the_built_assets_are_served(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as client:
        index = await client.get("/")
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index.text)
        assert assets
        for asset in assets:
            response = await client.get(asset)
            assert response.status_code == 200
            assert "immutable" in response.headers["cache-control"]
            assert response.content == (WEB_DIR / asset.lstrip("/")).read_bytes()
        assert (await client.get("/favicon.svg")).headers["content-type"] == "image/svg+xml"
        for path in ("/assets/nothing.js", "/assets/..%2F..%2Fsettings.py", "/index.html.bak", "/app.py"):
            assert (await client.get(path)).status_code == 404, path
