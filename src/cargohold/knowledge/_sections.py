"""What extraction gives (`Section`) and how it fails (`ExtractionError`), shared by the readers."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ExtractionError", "Section", "rows_text"]


@dataclass
class Section:
    """A run of text from one place in a file."""

    text: str
    location: str | None
    """`page 3`, `sheet Prices`, `slide 2`, or the nearest heading; None where a file has no places."""


class ExtractionError(Exception):
    """A file that cannot be read. `str()` is one sentence a person can act on."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def rows_text(rows: list[list[str]]) -> str:
    """Table rows as lines of `header: value` pairs (the first non-empty row is the header), so a
    row found by search carries what its values mean."""
    rows = [r for r in ([c.strip() for c in row] for row in rows) if any(r)]
    if not rows:
        return ""
    header, lines = rows[0], [" | ".join(c for c in rows[0] if c)]
    for row in rows[1:]:
        pairs = [f"{header[i]}: {c}" if i < len(header) and header[i] else c for i, c in enumerate(row) if c]
        lines.append("; ".join(pairs))
    return "\n".join(lines)
