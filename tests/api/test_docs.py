"""`/docs` with no internet: the Swagger UI page references only this server's own URLs, and each
of them answers 200 with what the page needs (the bundle, its CSS, the favicon, the OpenAPI document)."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import httpx

from ..harness import Server

_URL = re.compile(r"""(?:src|href)="([^"]+)"|url:\s*'([^']+)'""")


class TestDocs:
    async def test_page_uses_only_local_assets(self, server: Server) -> None:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            page = await client.get("/docs")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert "SwaggerUIBundle" in page.text
            urls = [a or b for a, b in _URL.findall(page.text)]
            assert len(urls) >= 4, urls  # css, favicon, bundle, openapi document
            assert all(url.startswith("/") and not url.startswith("//") for url in urls), urls
            assert "http://" not in page.text and "https://" not in page.text  # no CDN, no other host

            kinds = {}
            for url in urls:
                response = await client.get(urljoin(server.base_url, url))
                assert response.status_code == 200, url
                kinds[url.rsplit("/", 1)[-1]] = (response.headers["content-type"], len(response.content))
            assert kinds["swagger-ui-bundle.js"][0].startswith("text/javascript")
            assert kinds["swagger-ui-bundle.js"][1] > 1_000_000
            assert kinds["swagger-ui.css"][0].startswith("text/css")
            assert kinds["favicon-32x32.png"][0] == "image/png"
            assert kinds["openapi.json"][0] == "application/json"

    async def test_only_the_vendored_files_are_served(self, server: Server) -> None:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            page = (await client.get("/docs")).text
            bundle = next(u for u in re.findall(r'src="([^"]+)"', page) if u.endswith("swagger-ui-bundle.js"))
            base = bundle.rsplit("/", 1)[0]
            for name in ("LICENSE", "README.md", "..%2F..%2Fapp.py", "swagger-ui-bundle.js.LICENSE.txt"):
                assert (await client.get(f"{base}/{name}")).status_code == 404, name
            assert (await client.get("/redoc")).status_code == 404  # ReDoc would need a CDN: not served
