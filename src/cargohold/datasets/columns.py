"""Column types of data models, and the check of a native record's values against them.

Dates are stored as one canonical text form (`2024-05-01T12:00:00.000000Z`, UTC), so that they
compare the same way, as text, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any, Literal

__all__ = [
    "COLUMN_TYPES",
    "RESERVED",
    "SLUG_RE",
    "ColumnType",
    "RecordInvalid",
    "canonical_date",
    "check_value",
    "system_columns",
]

ColumnType = Literal["string", "number", "boolean", "date", "object", "array", "any", "vector"]
COLUMN_TYPES: tuple[str, ...] = ("string", "number", "boolean", "date", "object", "array", "any", "vector")
SLUG_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$")
"""A column or model slug: it names a SQL column or table, so letters, digits and `_` only."""
RESERVED = ("_id", "_title", "_emitted_at")


class RecordInvalid(ValueError):
    """A value that does not fit its column."""


def system_columns() -> list[dict[str, Any]]:
    return [
        {"slug": "_id", "type": "string", "label": "ID", "kind": "original"},
        {"slug": "_title", "type": "string", "label": "Title", "kind": "original"},
        {"slug": "_emitted_at", "type": "date", "label": "Emitted at", "kind": "original"},
    ]


def canonical_date(value: Any) -> str:
    """An ISO 8601 date or datetime (naive means UTC) in the one stored form."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise RecordInvalid(f"{value!r} is not an ISO 8601 date") from None
    else:
        raise RecordInvalid("a date must be an ISO 8601 string")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_value(kind: str, value: Any) -> Any:
    """The value as stored (dates canonical), or `RecordInvalid` saying what was expected."""
    if value is None:
        return None
    match kind:
        case "string":
            if not isinstance(value, str):
                raise RecordInvalid(f"expected a string, got {type(value).__name__}")
            return value
        case "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise RecordInvalid(f"expected a number, got {type(value).__name__}")
            if not math.isfinite(value):
                raise RecordInvalid("expected a finite number")
            return value
        case "boolean":
            if not isinstance(value, bool):
                raise RecordInvalid(f"expected a boolean, got {type(value).__name__}")
            return value
        case "date":
            return canonical_date(value)
        case "object":
            if not isinstance(value, dict):
                raise RecordInvalid(f"expected an object, got {type(value).__name__}")
            return value
        case "array" | "vector":
            if not isinstance(value, list):
                raise RecordInvalid(f"expected an array, got {type(value).__name__}")
            return value
        case _:
            return value
