"""CORS for the origins an operator lists (`CARGOHOLD_CORS_ORIGINS`), so a `useChat` front end
served from another origin can call the API; none listed, no CORS headers at all.

Tokens travel in the `Authorization` header, never in cookies: credentials stay off
(`Access-Control-Allow-Credentials` is never sent), and the only response headers exposed to the
page are the stream's own marker, nothing secret."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

__all__ = ["EXPOSED_HEADERS", "install_cors", "parse_origins"]

EXPOSED_HEADERS = ["x-vercel-ai-ui-message-stream"]
"""Response headers a page on another origin may read (beyond the CORS-safelisted ones)."""
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
_HEADERS = ["authorization", "content-type", "last-event-id", "accept"]
_MAX_AGE = 600  # seconds a browser may reuse a preflight answer


def parse_origins(value: str) -> list[str]:
    """`https://a.example, http://localhost:3000` -> the origins, without trailing slashes."""
    return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]


def install_cors(app: FastAPI, origins: str) -> None:
    """Add CORSMiddleware for `origins` (a comma list; `*` for any). Call it last, so it is the
    outermost middleware and error answers (413, 400) carry the headers too."""
    allowed = parse_origins(origins)
    if not allowed:
        return
    app.add_middleware(
        CORSMiddleware,
        allow_origins=allowed,
        allow_methods=_METHODS,
        allow_headers=_HEADERS,
        allow_credentials=False,
        expose_headers=EXPOSED_HEADERS,
        max_age=_MAX_AGE,
    )
