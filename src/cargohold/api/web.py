"""The web playground at `/`: the page built from `web/` (repo root) into `cargohold/web/`.

Only the files the build wrote are served (an allow-list read once when the app is built), with a
strict Content-Security-Policy: everything from this origin, nothing inline, no CDN. The page needs
no token to load; its API calls carry the token the person gives it."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from starlette.responses import FileResponse, PlainTextResponse, Response

__all__ = ["CONTENT_SECURITY_POLICY", "WEB_DIR", "web_router"]

WEB_DIR = Path(str(files("cargohold") / "web"))

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
}
# Names under assets/ carry a content hash: a new build has new names, so they may be cached for good.
_IMMUTABLE = "public, max-age=31536000, immutable"


def _allowed(web_dir: Path) -> dict[str, Path]:
    """URL path -> file, for the files of the build this package ships (and only the kinds above)."""
    if not web_dir.is_dir():
        return {}
    allowed: dict[str, Path] = {}
    for path in sorted(web_dir.rglob("*")):
        if path.is_file() and path.suffix in _MEDIA_TYPES:
            allowed["/" + path.relative_to(web_dir).as_posix()] = path
    return allowed


def web_router(web_dir: Path = WEB_DIR) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    index = web_dir / "index.html"
    assets = _allowed(web_dir)

    @router.get("/")
    async def playground() -> Response:
        if not index.is_file():
            return PlainTextResponse(
                "The web playground is not built: run `cd web && npm ci && npm run build`.", status_code=404
            )
        return FileResponse(
            index,
            media_type="text/html; charset=utf-8",
            headers={**_SECURITY_HEADERS, "cache-control": "no-cache"},
        )

    async def asset(path: str) -> Response:
        file = assets.get(path)
        if file is None:
            return PlainTextResponse("Not found", status_code=404, headers=_SECURITY_HEADERS)
        cache = _IMMUTABLE if path.startswith("/assets/") else "no-cache"
        return FileResponse(
            file, media_type=_MEDIA_TYPES[file.suffix], headers={**_SECURITY_HEADERS, "cache-control": cache}
        )

    @router.get("/assets/{name}")
    async def hashed_asset(name: str) -> Response:
        return await asset(f"/assets/{name}")

    @router.get("/favicon.svg")
    async def favicon() -> Response:
        return await asset("/favicon.svg")

    return router
