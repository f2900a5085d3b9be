"""JSON every backend can store and every reader can read.

Going in (`find_problem`, `FreeJson`): request JSON may nest at most `max_json_depth` levels;
no string or key may hold NUL (PostgreSQL text and jsonb refuse it) or a lone UTF-16 surrogate
(not UTF-8: jsonb refuses it, and no response holding it can be encoded); numbers must be finite
and fit in 64 bits (a column would overflow). A free-form field is also bounded in serialized size.

Coming out (`readable`): a value stored before these checks, or by a path that skipped them
(a tool's output), is made readable instead of failing the read: surrogates become U+FFFD and
anything nested deeper than `MAX_READ_DEPTH` is replaced by `TOO_DEEP`. pydantic's serializer
gives up past about 200 levels, and one such row used to make a whole workspace's list answer 500.

Every walk here is bounded: `find_problem` keeps its own stack, `readable` recurses at most
`MAX_READ_DEPTH` levels.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

__all__ = [
    "INT_LIMIT",
    "MAX_READ_DEPTH",
    "TOO_DEEP",
    "FreeJson",
    "FreeJsonObject",
    "FreeJsonObjects",
    "JsonLimits",
    "Problem",
    "check_free_json",
    "current_limits",
    "find_problem",
    "format_path",
    "json_limits",
    "readable",
    "readable_text",
    "set_json_limits",
    "suspects",
]

MAX_READ_DEPTH = 100
"""Levels a stored value keeps when read; deeper parts are replaced by `TOO_DEEP`."""
TOO_DEEP = "[cut: nested deeper than 100 levels]"
INT_LIMIT = 2**63 - 1
"""Integers beyond ±(2^63 - 1) overflow an SQL integer column."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN_KEY = re.compile(r"[A-Za-z_$][\w$-]{0,63}")
_MAX_PATH_CHARS = 200


@dataclass(frozen=True, slots=True)
class JsonLimits:
    depth: int = 64
    field_bytes: int = 256 * 1024


_DEFAULT_LIMITS = JsonLimits()
_limits: ContextVar[JsonLimits | None] = ContextVar("cargohold_json_limits", default=None)


def current_limits() -> JsonLimits:
    """The limits of the request being handled (the server's settings), or the defaults."""
    return _limits.get() or _DEFAULT_LIMITS


@contextmanager
def json_limits(limits: JsonLimits) -> Iterator[None]:
    token = _limits.set(limits)
    try:
        yield
    finally:
        _limits.reset(token)


def set_json_limits(limits: JsonLimits) -> None:
    """Set the limits for the rest of this task (one request): the request check calls it."""
    _limits.set(limits)


@dataclass(frozen=True, slots=True)
class Problem:
    """The first thing in a value that cannot be stored, with where it is."""

    path: str
    kind: Literal["depth", "string", "key", "number"]
    detail: str

    @property
    def message(self) -> str:
        where = f"`{self.path}`" if self.path else "The request body"
        return f"{where}: {self.detail}"


def format_path(segments: list[str | int]) -> str:
    """`parts[0].text`; a key that is not a plain name is quoted and escaped (`data."a\\nb"`), so a
    path never carries a raw control character into a message or a log."""
    out = ""
    for segment in segments:
        if isinstance(segment, int):
            out += f"[{segment}]"
        else:
            name = segment if _PLAIN_KEY.fullmatch(segment) else json.dumps(segment[:40])
            out += f".{name}" if out else name
        if len(out) > _MAX_PATH_CHARS:
            return out[:_MAX_PATH_CHARS] + "…"
    return out


_Link = tuple["_Link | None", str | int] | None
"""A path as a linked list (parent, segment): built only when a problem is reported."""


def _segments(link: _Link) -> list[str | int]:
    out: list[str | int] = []
    while link is not None:
        link, segment = link
        out.append(segment)
    return out[::-1]


def find_problem(
    value: Any, max_depth: int, *, strings: bool = True, numbers: bool = True, prefix: list[str | int] | None = None
) -> Problem | None:
    """A value that may not be stored, or None. Objects and arrays count one level each; the top
    one is level 1. `strings=False` / `numbers=False` skip those checks (`suspects` says when a
    raw body cannot hold such a value): depth alone visits only the containers."""
    base: _Link = None
    for segment in prefix or []:
        base = (base, segment)
    problem = _scalar_problem(value, strings, numbers)
    if problem is not None:
        return Problem(format_path(_segments(base)), *problem)
    stack: list[tuple[Any, int, _Link]] = [(value, 1, base)] if type(value) in _CONTAINERS else []
    while stack:
        item, depth, link = stack.pop()
        if depth > max_depth:
            return Problem(format_path(_segments(link)), "depth", f"JSON nests deeper than {max_depth} levels")
        children = item.values() if type(item) is dict else item
        if not (strings or numbers) and _CONTAINERS.isdisjoint(set(map(type, children))):
            continue  # only scalars below: nothing deeper to visit (counted at C speed)
        pairs = item.items() if type(item) is dict else enumerate(item)
        for key, child in pairs:
            if strings and type(key) is str and _UNSTORABLE.search(key):
                return Problem(format_path(_segments(link)), "key", "a key " + _unstorable(key))
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1, (link, key)))
            elif (strings or numbers) and (problem := _scalar_problem(child, strings, numbers)) is not None:
                return Problem(format_path(_segments((link, key))), *problem)
    return None


_CONTAINERS = frozenset({dict, list})


def _scalar_problem(value: Any, strings: bool, numbers: bool) -> tuple[Literal["string", "number"], str] | None:
    kind = type(value)
    if kind is str:
        if strings and _UNSTORABLE.search(value):
            return "string", _unstorable(value)
    elif kind is float:
        if numbers and not math.isfinite(value):
            return "number", "the number is too large (or not finite)"
    elif kind is int and numbers and not -INT_LIMIT <= value <= INT_LIMIT:
        return "number", "the number is too large (at most 2^63 - 1)"
    return None


_SUSPECT_STRING = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_LONG_EXPONENT = re.compile(rb"[eE][+]?[0-9]{3}")
_LONG_INTEGER = re.compile(rb"[0-9]{19}")


def suspects(body: bytes) -> tuple[bool, bool]:
    """Whether raw JSON text may hold an unstorable string, and an overflowing number. In valid
    JSON, NUL and lone surrogates exist only as `\\u` escapes, and an overflow needs `Infinity`,
    `NaN`, 19 digits or a 3-digit exponent; a false alarm only costs a full check."""
    numbers = b"Infinity" in body or b"NaN" in body or bool(_LONG_EXPONENT.search(body) or _LONG_INTEGER.search(body))
    return _SUSPECT_STRING.search(body) is not None, numbers


def _unstorable(text: str) -> str:
    if "\x00" in text:
        return "holds a NUL character (\\u0000), which cannot be stored"
    return "holds a lone UTF-16 surrogate (e.g. \\ud800), which is not valid Unicode text"


_ERROR_TYPES = {
    "depth": "json_too_deep",
    "string": "invalid_string",
    "key": "invalid_string",
    "number": "number_too_large",
}


def check_free_json(value: Any) -> Any:
    """`FreeJson`'s check, for a validator of its own: raises a pydantic error naming what is wrong."""
    limits = current_limits()
    problem = find_problem(value, limits.depth)
    if problem is not None:
        detail = f"{problem.path}: {problem.detail}" if problem.path else problem.detail
        raise PydanticCustomError(_ERROR_TYPES[problem.kind], "{detail}", {"detail": detail})
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > limits.field_bytes:
        raise PydanticCustomError(
            "json_field_too_large",
            "is {size} bytes of JSON; at most {limit} are allowed",
            {"size": size, "limit": limits.field_bytes},
        )
    return value


FreeJson = Annotated[Any, AfterValidator(check_free_json)]
"""Any JSON a client may store as is: bounded in depth and serialized size, storable strings
and numbers only (`CARGOHOLD_MAX_JSON_DEPTH`, `CARGOHOLD_MAX_JSON_FIELD_BYTES`)."""
FreeJsonObject = Annotated[dict[str, Any], AfterValidator(check_free_json)]
FreeJsonObjects = Annotated[list[dict[str, Any]], AfterValidator(check_free_json)]


def readable_text(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD, so it can be encoded as UTF-8."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _needs_repair(value: Any, room: int) -> bool:
    kind = type(value)
    if kind is str:
        return _SURROGATE.search(value) is not None
    if kind is float:
        return not math.isfinite(value)
    if kind is not dict and kind is not list:
        return False
    if room <= 0:
        return True
    if kind is dict:
        for key, child in value.items():
            if type(key) is str and _SURROGATE.search(key):
                return True
            if type(child) not in _PLAIN and _needs_repair(child, room - 1):
                return True
        return False
    return any(type(child) not in _PLAIN and _needs_repair(child, room - 1) for child in value)


_PLAIN = frozenset({int, bool, type(None)})


def _repair(value: Any, room: int) -> Any:
    if isinstance(value, str):
        return readable_text(value)
    if isinstance(value, dict):
        if room <= 0:
            return TOO_DEEP
        return {readable_text(k) if isinstance(k, str) else k: _repair(v, room - 1) for k, v in value.items()}
    if isinstance(value, list):
        return TOO_DEEP if room <= 0 else [_repair(v, room - 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def readable(value: Any, max_depth: int = MAX_READ_DEPTH) -> Any:
    """`value` itself when every reader can read it, else a repaired copy (see the module doc)."""
    return _repair(value, max_depth) if _needs_repair(value, max_depth) else value
