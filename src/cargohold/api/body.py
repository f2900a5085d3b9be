"""Request bodies, checked once before any route sees them.

`BodyLimit` (pure ASGI) counts the body's bytes as they arrive: a declared `Content-Length` past
`CARGOHOLD_MAX_BODY_BYTES` is answered 413 before a byte is read, and a body that grows past it
(chunked, or lying about its length) is cut off there, never held whole.

Uploads (`uploads`: paths -> their own limit, `CARGOHOLD_MAX_UPLOAD_BYTES` plus room for the
multipart framing) are counted the same way against that limit instead.

`check_request` (an app-wide dependency, so it runs before any body model is validated and before
anything is stored) parses a JSON body once, caches it on the request (`request.json()` returns
it, FastAPI's own parse is reused), and refuses what no backend can store (see `schemas/safe.py`).
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from fastapi import Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InvalidJson, InvalidString, JsonTooDeep, NumberTooLarge, PayloadTooLarge
from ..schemas.safe import JsonLimits, Problem, find_problem, format_path, set_json_limits, suspects

__all__ = ["MULTIPART_ROOM", "BodyLimit", "BodyTooLarge", "check_request", "parse_json"]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(HTTPException):
    """Raised from `receive` when the body outgrows the limit. An HTTPException, because FastAPI
    turns any other error raised while it reads a body into a plain 400."""

    def __init__(self, limit: int, setting: str = "CARGOHOLD_MAX_BODY_BYTES") -> None:
        super().__init__(413, PayloadTooLarge(_too_large(limit, setting)).error_message)
        self.limit = limit


def _too_large(limit: int, setting: str = "CARGOHOLD_MAX_BODY_BYTES") -> str:
    return f"The request body is larger than {limit} bytes ({setting})"


MULTIPART_ROOM = 64 * 1024
"""An upload's body may exceed its file limit by this much: the multipart framing and small fields."""


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, uploads: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload_limit = self.uploads.get(scope["path"])
        if upload_limit is None:
            await self._limit(scope, receive, send, self.max_bytes)
        else:
            await self._limit(scope, receive, send, upload_limit + MULTIPART_ROOM, upload_limit)

    async def _limit(self, scope: Scope, receive: Receive, send: Send, limit: int, upload: int | None = None) -> None:
        shown, setting = (limit, "CARGOHOLD_MAX_BODY_BYTES")
        if upload is not None:
            shown, setting = upload, "CARGOHOLD_MAX_UPLOAD_BYTES"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _answer_413(send, shown, setting)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(shown, setting)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:
                raise
            await _answer_413(send, shown, setting)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _answer_413(send: Send, limit: int, setting: str = "CARGOHOLD_MAX_BODY_BYTES") -> None:
    body = json.dumps(PayloadTooLarge(_too_large(limit, setting)).body()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    # `connection: close`: the rest of the body is never read, so this connection cannot be reused.
    headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def parse_json(body: bytes) -> Any:
    """`json.loads`, with every failure a 400: not JSON, not UTF-8, an integer of thousands of
    digits, or nesting deep enough to exhaust the parser's recursion (100,000 `[`)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise JsonTooDeep("The request body nests too deeply to parse") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, int digit limit
        raise InvalidJson(f"The request body is not valid JSON ({_reason(exc)})") from None


def _reason(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at position {exc.pos}"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8"
    return "a number with too many digits" if "digits" in str(exc) else "unreadable"


_ERRORS = {"depth": JsonTooDeep, "string": InvalidString, "key": InvalidString, "number": NumberTooLarge}


def _raise(problem: Problem) -> NoReturn:
    raise _ERRORS[problem.kind](problem.message)


def limits_of(request: Request) -> JsonLimits:
    state = getattr(request.app.state, "cargohold", None)
    if state is None:
        return JsonLimits()
    settings = state.settings
    return JsonLimits(depth=settings.max_json_depth, field_bytes=settings.max_json_field_bytes)


def _is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


async def check_request(request: Request) -> None:
    limits = limits_of(request)
    set_json_limits(limits)  # read by `FreeJson` fields while this request's body is validated
    for key, value in request.query_params.multi_items():
        if (problem := find_problem({key: value}, 2)) is not None:
            _raise(Problem(format_path([key]), problem.kind, problem.detail))
    if request.method not in _BODY_METHODS or _is_multipart(request):
        return  # an upload (multipart) is not JSON: its route checks its fields, the body is never read whole
    body = await request.body()  # cached by Starlette: no second read
    if hasattr(request, "_json"):  # FastAPI parsed it for the route's body model: check that value
        value = request._json
    else:
        if not body.strip():
            return
        value = parse_json(body)
        request._json = value  # `await request.json()` in a route now returns the checked value
    strings, numbers = suspects(body)  # usually neither: then only the containers are visited
    problem = find_problem(value, limits.depth, strings=strings, numbers=numbers)
    if problem is not None:
        _raise(problem)
