"""Log hygiene: one event is one line, and no client input reaches a log raw.

Installed once per process by `create_app`, as a LogRecord factory, so it holds for every logger
(ours, uvicorn's, libraries') and every handler and formatter:

- control characters in the message and its arguments are escaped (`\\n` → `\\\\n`): a newline a
  client put in a part key or a path can never start a forged log line;
- a traceback is folded into the same line, its frames joined by an escaped newline;
- a pydantic `ValidationError` (whose text quotes the input) is described by its field paths and
  error types only, never the values.
"""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from .schemas.safe import format_path

__all__ = [
    "JsonFormatter",
    "escape",
    "install_log_hygiene",
    "logging_config",
    "message_uuid_var",
    "summarize_errors",
]

message_uuid_var: ContextVar[str | None] = ContextVar("cargohold_message_uuid", default=None)
"""The message a turn runs for: set by the run (jobs/turn_run.py), carried by every log record of
that turn as `message_uuid` (and `messageUuid` in JSON lines)."""

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MAX_EXCEPTION_TEXT = 2000
_MAX_ERRORS = 10
_installed = False

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def escape(text: str) -> str:
    """`text` on one line: control characters, line separators and lone surrogates escaped."""
    if not _CONTROL.search(text):
        return text
    return _CONTROL.sub(lambda m: _NAMED.get(m[0]) or f"\\u{ord(m[0]):04x}", text)


def summarize_errors(title: str, errors: list[Any]) -> str:
    """`3 validation errors for X: parts[0].text [string_type]; ...`: paths and types, no input."""
    items = [
        f"{format_path([p for p in e.get('loc', ()) if isinstance(p, str | int)])} [{e.get('type')}]" for e in errors
    ]
    more = f"; and {len(items) - _MAX_ERRORS} more" if len(items) > _MAX_ERRORS else ""
    return f"{len(items)} validation error(s) for {title}: " + "; ".join(items[:_MAX_ERRORS]) + more


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return summarize_errors(exc.title, exc.errors(include_url=False, include_input=False, include_context=False))
    if isinstance(exc, RequestValidationError):
        return summarize_errors("the request", list(exc.errors()))
    text = str(exc)
    return text if len(text) <= _MAX_EXCEPTION_TEXT else text[:_MAX_EXCEPTION_TEXT] + "…"


def _traceback(exc_info: ExcInfo) -> str:
    exc = exc_info[1]
    formatted = traceback.TracebackException(type(exc), exc, exc_info[2], compact=True)
    # Replace each exception's text in the chain (cause / context) by its description.
    node: traceback.TracebackException | None = formatted
    value: BaseException | None = exc
    seen: set[int] = set()
    while node is not None and value is not None and id(value) not in seen:
        seen.add(id(value))
        node._str = _describe(value)  # type: ignore[attr-defined]
        if node.__cause__ is not None:
            node, value = node.__cause__, value.__cause__
        elif node.__context__ is not None:
            node, value = node.__context__, value.__context__
        else:
            break
    return "".join(formatted.format()).rstrip("\n")


def _clean_arg(arg: Any) -> Any:
    if arg is None or isinstance(arg, bool | int | float):
        return arg
    text = arg if isinstance(arg, str) else str(arg)
    return escape(text) if (text is arg or _CONTROL.search(text)) else arg


def clean_record(record: logging.LogRecord) -> None:
    if isinstance(record.msg, str):
        record.msg = escape(record.msg)
    if isinstance(record.args, Mapping):
        record.args = {k: _clean_arg(v) for k, v in record.args.items()}
    elif record.args:
        record.args = tuple(_clean_arg(a) for a in record.args)
    if record.exc_info and record.exc_info[1] is not None:
        text = escape(_traceback(record.exc_info))
        record.msg = f"{record.msg} | {text.replace('%', '%%') if record.args else text}"
        record.exc_info = None
        record.exc_text = None
    if record.stack_info:
        stack = escape(record.stack_info)
        record.msg = f"{record.msg} | {stack.replace('%', '%%') if record.args else stack}"
        record.stack_info = None


def install_log_hygiene() -> None:
    """Idempotent: the first call wraps the process's LogRecord factory."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.message_uuid = message_uuid_var.get()
        try:
            clean_record(record)
        except Exception:  # never lose a log event to its own cleaning
            record.msg, record.args = escape(f"{record.msg!s}"), None
        return record

    logging.setLogRecordFactory(factory)


class JsonFormatter(logging.Formatter):
    """One JSON object per line (`CARGOHOLD_LOG_FORMAT=json`): time, level, logger, message, and the
    turn's `messageUuid` when the line is logged by a turn."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        message_uuid = getattr(record, "message_uuid", None)
        if message_uuid:
            line["messageUuid"] = message_uuid
        if record.exc_info and record.exc_info[1] is not None:  # when the hygiene factory is not installed
            line["error"] = escape(_traceback(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


def logging_config(log_format: str) -> dict[str, Any]:
    """The `logging.config.dictConfig` for `cargohold serve` (uvicorn's loggers and ours)."""
    from uvicorn.config import LOGGING_CONFIG

    if log_format != "json":
        return LOGGING_CONFIG
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "cargohold.logs.JsonFormatter"}},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": "INFO"},
        "loggers": {
            "uvicorn": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
