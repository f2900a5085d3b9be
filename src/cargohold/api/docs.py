"""`GET /docs`: Swagger UI over `/openapi.json`, with its assets served by cargohold itself (no CDN),
so the docs work on a machine with no internet. The files are vendored in `cargohold/swagger_ui/`
(see its README for the version and how to update them). ReDoc is not served: it would need a CDN."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

__all__ = ["ASSETS_PATH", "SWAGGER_UI_DIR", "SWAGGER_UI_VERSION", "docs_router"]

SWAGGER_UI_DIR = Path(str(files("cargohold") / "swagger_ui"))
SWAGGER_UI_VERSION = "5.35.0"
ASSETS_PATH = f"/docs/assets/{SWAGGER_UI_VERSION}"
"""Where the assets are served; the version in the path lets browsers cache them for good."""
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
_IMMUTABLE = "public, max-age=31536000, immutable"


def docs_router(title: str, openapi_url: str = "/openapi.json") -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API docs",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            # No badge fetched from the public validator: nothing leaves this server.
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers.update({**_HEADERS, "cache-control": "no-cache"})
        return page

    @router.get(ASSETS_PATH + "/{name}")
    async def swagger_asset(name: str) -> Response:
        media_type = _ASSETS.get(name)
        if media_type is None:
            return PlainTextResponse("Not found", status_code=404, headers=_HEADERS)
        return FileResponse(
            SWAGGER_UI_DIR / name, media_type=media_type, headers={**_HEADERS, "cache-control": _IMMUTABLE}
        )

    return router
