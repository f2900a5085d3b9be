"""Why an MCP server could not be used, in words a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from http import HTTPStatus
from typing import Literal

import httpcore2
import httpx2

from ..outbound import refusal_of
from .mcp_auth import NeedsReauth, RefreshFailed

__all__ = ["FailureKind", "McpFailure", "describe_failure"]

FailureKind = Literal["refused", "unreachable", "unauthorized", "needsReauth", "timeout", "unsupported", "failed"]


class McpFailure(Exception):
    """An MCP client that could not be connected, listed or called. `str()` is the message."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        if isinstance(e, BaseExceptionGroup):
            stack.extend(e.exceptions)
        for nxt in (e.__cause__, e.__context__):
            if nxt is not None:
                stack.append(nxt)


def _first(exc: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException | None:
    return next((e for e in _chain(exc) if isinstance(e, kinds)), None)


def _status(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def describe_failure(
    exc: BaseException, name: str, url: str, phase: str, limit: float, status: int | None = None
) -> McpFailure:
    """Classify `exc` (raised while trying to `phase`, e.g. "connect") into an McpFailure."""
    if isinstance(exc, McpFailure):
        return exc
    if (reauth := _first(exc, NeedsReauth)) is not None:
        return McpFailure("needsReauth", str(reauth))
    if (refused := refusal_of(exc)) is not None:
        return McpFailure("refused" if refused.kind == "private" else "unreachable", f"MCP client {name}: {refused}")
    if (refresh := _first(exc, RefreshFailed)) is not None:
        return McpFailure("unauthorized", str(refresh))
    if _first(exc, (TimeoutError, httpx2.TimeoutException, httpcore2.TimeoutException)) is not None:
        return McpFailure("timeout", f"MCP client {name} did not {phase} within {limit:g}s ({url})")
    if status in (401, 403):
        return McpFailure(
            "unauthorized", f"MCP client {name}: the server refused the credentials ({_status(status)}) at {url}"
        )
    if status is not None:
        return McpFailure("unreachable", f"MCP client {name}: the server answered {_status(status)} at {url}")
    if (connect := _first(exc, (httpx2.ConnectError, httpcore2.ConnectError, OSError))) is not None:
        return McpFailure("unreachable", f"MCP client {name}: could not connect to {url}: {connect}")
    leaf = exc
    while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
        leaf = leaf.exceptions[0]
    return McpFailure("unreachable", f"MCP client {name}: could not {phase} at {url}: {leaf}")
