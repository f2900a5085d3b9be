"""Resources: the team's data a turn may read, a tagged union on `kind` (cargo-ai-api §2.4).

- `model`: a data model of the storage domain, queried by SQL, narrowed by `filter`,
  `selectedColumnSlugs` and `limit` (the data room: `datasets/`, `runtime/resources/model.py`).
- `file`: files and folders searched by meaning (the knowledge room: `knowledge/`,
  `runtime/resources/file.py`).

Common fields: `slug` (the tool name the model sees), `name`, `description`, `prompt`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, TypeAdapter

from .actions import SLUG_PATTERN
from .common import UUID4, CamelModel

__all__ = ["FileResource", "FileResourceItem", "ModelResource", "Resource", "parse_resources"]


class _Resource(CamelModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN, description="The tool name the model sees: letters, digits, `_`, `-`.")
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    prompt: str | None = Field(default=None, max_length=20_000, description="How the model should use it.")


class ModelResource(_Resource):
    kind: Literal["model"]
    integration_slug: str | None = Field(default=None, max_length=100)
    model_uuid: UUID4 | None = None
    filter: dict[str, Any] | None = Field(default=None, description="Cargo's filter DSL (`conjonction`, `groups`).")
    selected_column_slugs: list[str] | None = None
    limit: int | None = Field(default=None, ge=1, le=1000, description="Rows per query (default 100).")
    is_read_only: bool = True


class _FileItem(CamelModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["file"]
    file_uuid: UUID4


class _FolderItem(CamelModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["folder"]
    folder_uuid: UUID4


FileResourceItem = Annotated[_FileItem | _FolderItem, Discriminator("kind")]


class FileResource(_Resource):
    kind: Literal["file"]
    items: list[FileResourceItem] = Field(min_length=1, max_length=1000)


Resource = Annotated[ModelResource | FileResource, Discriminator("kind")]
_RESOURCES = TypeAdapter(list[Resource])


def parse_resources(raw: list[dict[str, Any]] | None) -> list[ModelResource | FileResource]:
    """Stored resources back to their models (they were validated when stored)."""
    return _RESOURCES.validate_python(raw or [])
