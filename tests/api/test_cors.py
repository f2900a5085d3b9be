"""CORS as a browser on another origin sees it: a `useChat` page at an allowed origin gets its
preflight answered and can read the stream; any other origin gets no CORS headers; with no
origins configured there are none at all."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from cargohold.settings import Settings
from cargohold.store.workspaces import create_token, create_workspace

from ..harness import Server, read_stream, start_server, stream_body, text_of

ALLOWED = "http://localhost:3000"
STREAM = "/v1/ai/messages/stream"


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }


async def token_for(srv: Server) -> str:
    async with srv.state.sessions() as session, session.begin():
        _, user = await create_workspace(session, "front")
        return await create_token(session, user)


class TestCors:
    async def test_allowed_origin_preflight_and_stream(self, make_settings: Callable[..., Settings]) -> None:
        settings = make_settings(cors_origins=f"{ALLOWED}/, https://app.example", default_model="offline:offline")
        async with start_server(settings) as srv, httpx.AsyncClient(base_url=srv.base_url, timeout=30) as client:
            response = await client.options(STREAM, headers=preflight(ALLOWED))
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == ALLOWED
            assert "POST" in response.headers["access-control-allow-methods"]
            allowed_headers = response.headers["access-control-allow-headers"].lower()
            assert "authorization" in allowed_headers and "content-type" in allowed_headers
            assert "access-control-allow-credentials" not in response.headers

            token = await token_for(srv)
            headers = {"Origin": ALLOWED, "Authorization": f"Bearer {token}"}
            async with client.stream("POST", STREAM, json=stream_body(text="hello"), headers=headers) as streamed:
                assert streamed.status_code == 200
                assert streamed.headers["access-control-allow-origin"] == ALLOWED
                assert streamed.headers["access-control-expose-headers"] == "x-vercel-ai-ui-message-stream"
                assert "access-control-allow-credentials" not in streamed.headers
                chunks = await read_stream(streamed)
            assert chunks[-1] == "[DONE]" and text_of(chunks)

            # An error answer (no token) carries the header too, so the page can read the 401.
            refused = await client.get("/v1/ai/chats/list", headers={"Origin": ALLOWED})
            assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == ALLOWED

    async def test_other_origin_is_refused(self, make_settings: Callable[..., Settings]) -> None:
        async with (
            start_server(make_settings(cors_origins=ALLOWED)) as srv,
            httpx.AsyncClient(base_url=srv.base_url) as client,
        ):
            response = await client.options(STREAM, headers=preflight("https://evil.example"))
            assert response.status_code == 400
            assert "access-control-allow-origin" not in response.headers
            plain = await client.get("/healthz", headers={"Origin": "https://evil.example"})
            assert plain.status_code == 200 and "access-control-allow-origin" not in plain.headers

    async def test_no_origins_no_cors(self, server: Server) -> None:
        async with httpx.AsyncClient(base_url=server.base_url) as client:
            response = await client.options(STREAM, headers=preflight(ALLOWED))
            assert response.status_code == 405  # no CORS configured: a preflight is just an OPTIONS
            assert "access-control-allow-origin" not in response.headers
            plain = await client.get("/healthz", headers={"Origin": ALLOWED})
            assert "access-control-allow-origin" not in plain.headers
