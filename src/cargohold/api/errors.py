"""The one error handler: every error body is `{"errorMessage": str, "reason"?: str}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from ..errors import CargoholdError, InvalidJson, JsonTooDeep
from .body import BodyTooLarge

__all__ = ["install_error_handlers", "validation_body", "validation_message", "validation_reason"]

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


_REASONS = {
    "json_invalid": "invalidJson",
    "json_too_deep": "jsonTooDeep",
    "invalid_string": "invalidString",
    "number_too_large": "numberTooLarge",
    "json_field_too_large": "fieldTooLarge",
}
"""Validation error types raised by `schemas/safe.py`, answered with a `reason`."""


def validation_reason(errors: list[Any]) -> str | None:
    return next((_REASONS[e["type"]] for e in errors if e.get("type") in _REASONS), None)


def validation_body(errors: list[Any]) -> dict[str, str]:
    body = {"errorMessage": validation_message(errors)}
    if reason := validation_reason(errors):
        body["reason"] = reason
    return body


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CargoholdError)
    async def _ours(_: Request, exc: CargoholdError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # Logged nowhere: the errors hold the client's input. The answer names fields and types only.
        return JSONResponse(validation_body(list(exc.errors())), status_code=400)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        if isinstance(exc, BodyTooLarge):
            return JSONResponse({"errorMessage": exc.detail, "reason": "payloadTooLarge"}, status_code=413)
        # FastAPI reads bodies of routes with a body model itself and wraps what fails in a 400.
        if isinstance(exc.__cause__, RecursionError):
            return JSONResponse(JsonTooDeep("The request body nests too deeply to parse").body(), status_code=400)
        if isinstance(exc.__cause__, ValueError):
            return JSONResponse(InvalidJson().body(), status_code=400)
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
