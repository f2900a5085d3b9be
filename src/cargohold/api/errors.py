"""The one error handler: every error body is `{"errorMessage": str, "reason"?: str}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from ..errors import CargoholdError

__all__ = ["install_error_handlers", "validation_message"]

log = logging.getLogger(__name__)
_LOCATIONS = {"body", "query", "path", "header", "cargo", "useChat"}  # + the stream body's union tags


def validation_message(errors: list[Any]) -> str:
    """Name the field and say what is wrong with it, e.g. "`chatUuid`: must be a UUID v4"."""
    messages = []
    for error in errors[:3]:
        loc = [str(p) for p in error.get("loc", ()) if str(p) not in _LOCATIONS]
        field = ".".join(loc)
        kind = error.get("type")
        msg = str(error.get("msg", "is invalid")).removeprefix("Value error, ")
        if kind == "json_invalid":
            messages.append("The request body is not valid JSON")
        elif kind == "extra_forbidden":
            messages.append(f"Unknown field `{field}`")
        elif kind == "missing":
            messages.append(f"`{field}` is required")
        elif field:
            messages.append(f"`{field}`: {msg}")
        else:
            messages.append(msg)
    return "; ".join(messages) or "Invalid request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CargoholdError)
    async def _ours(_: Request, exc: CargoholdError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"errorMessage": validation_message(list(exc.errors()))}, status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed"
        return JSONResponse({"errorMessage": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(_: Request, exc: ClientDisconnect) -> JSONResponse:
        # The client left before its body arrived: nobody reads this answer, and it is not our error.
        return JSONResponse({"errorMessage": "The client disconnected before sending its request"}, status_code=400)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"errorMessage": "Internal server error"}, status_code=500)
