"""A tool result that carries `data-*` stream parts besides its output.

A tool returns `with_data_parts(output, parts)`: a pydantic-ai `ToolReturn` whose `metadata`
(never sent to the model) holds the parts as plain JSON (so a durable run can store the result).
The stream encoder (`stream/writer.TurnEncoder`) sends them just before the tool's output chunk,
in order with the model's own chunks, whichever task ran the tool.
"""

from __future__ import annotations

from typing import Any

from pydantic_ai.messages import ToolReturn

__all__ = ["data_parts_of", "with_data_parts"]

_KEY = "cargohold.dataParts"


def with_data_parts(output: Any, parts: list[dict[str, Any]]) -> ToolReturn[Any]:
    return ToolReturn(output, metadata={_KEY: parts})


def data_parts_of(metadata: Any) -> list[dict[str, Any]]:
    """The `data-*` parts a tool result's metadata carries (others are ignored)."""
    if not isinstance(metadata, dict):
        return []
    found = metadata.get(_KEY)
    if not isinstance(found, list):
        return []
    return [p for p in found if isinstance(p, dict) and str(p.get("type", "")).startswith("data-")]
