"""Storage wire models (cargo-storage-api.md): datasets, data models, columns, records, queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from .common import UUID4, CamelModel, RequestModel

__all__ = [
    "Column",
    "ColumnsEnvelope",
    "Dataset",
    "DatasetEnvelope",
    "DatasetsEnvelope",
    "Model",
    "ModelCreate",
    "ModelDdl",
    "ModelEnvelope",
    "ModelUpdate",
    "ModelsEnvelope",
    "NativeColumn",
    "QueryBody",
    "QueryEnvelope",
    "RecordCreate",
    "RecordEnvelope",
    "RecordRemove",
    "RecordUpdate",
    "RecordsCreateBulk",
    "RecordsEnvelope",
    "RecordsList",
    "RecordsRemoveBulk",
    "RecordsUpdateBulk",
]

ColumnType = Literal["string", "number", "boolean", "date", "object", "array", "any", "vector"]
SLUG = r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$"


class Dataset(CamelModel):
    uuid: UUID4
    workspace_uuid: UUID4
    slug: str
    kind: Literal["native", "connector"]
    connector_uuid: UUID4 | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class DatasetEnvelope(CamelModel):
    dataset: Dataset


class DatasetsEnvelope(CamelModel):
    datasets: list[Dataset]


class Column(CamelModel):
    slug: str
    type: ColumnType
    label: str
    description: str | None = None
    kind: Literal["original", "custom", "computed", "metric", "lookup"] = "original"
    is_indexed: bool = False


class NativeColumn(CamelModel):
    """A column of a native model, as declared in `config.columns`."""

    model_config = ConfigDict(extra="forbid")
    slug: str = Field(pattern=SLUG, description="Names the column in SQL: letters, digits, `_`.")
    type: Literal["string", "number", "boolean", "date", "object", "array", "any"]
    label: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    is_indexed: bool = Field(default=False, description="Index it (filters and sorts on it stay fast).")


class Model(CamelModel):
    uuid: UUID4
    workspace_uuid: UUID4
    slug: str
    name: str
    description: str | None
    dataset_uuid: UUID4
    extractor_slug: str
    config: dict[str, Any]
    schedule: dict[str, Any] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    columns: list[Column]
    additional_columns: list[Column] = Field(default_factory=list)
    id_column_slug: str
    title_column_slug: str
    time_column_slug: str | None
    folder_uuid: UUID4 | None = None
    kind: Literal["native", "connector"]
    is_paused: bool = False
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class ModelEnvelope(CamelModel):
    model: Model


class ModelDdl(CamelModel):
    ddl: str = Field(description='`CREATE TABLE "<datasetSlug>"."<modelSlug>" (...)` as queries see it.')
    dialect: Literal["postgresql", "sqlite"]


class ModelsEnvelope(CamelModel):
    models: list[Model]


class ColumnsEnvelope(CamelModel):
    columns: list[Column]


class ModelCreate(RequestModel):
    slug: str = Field(pattern=SLUG, description="The table name in SQL (`<datasetSlug>.<slug>`).")
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    dataset_uuid: UUID4
    extractor_slug: Literal["native", "table", "sql"]
    config: dict[str, Any]
    schedule: dict[str, Any] | None = None
    folder_uuid: UUID4 | None = None


class ModelUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    config: dict[str, Any] | None = None
    schedule: dict[str, Any] | None = None
    folder_uuid: UUID4 | None = None


class Sort(RequestModel):
    kind: Literal["asc", "desc"]
    column_slug: Literal["_id", "_title", "_emitted_at"]


class RecordsList(RequestModel):
    model_uuid: UUID4
    limit: int = Field(default=100, ge=1, le=1000)
    offset: int = Field(default=0, ge=0, le=2**31 - 1)
    sort: Sort | None = None


class RecordCreate(RequestModel):
    model_uuid: UUID4
    data: dict[str, Any]


class _Data(RequestModel):
    data: dict[str, Any]


class RecordsCreateBulk(RequestModel):
    model_uuid: UUID4
    records: list[_Data] = Field(min_length=1, max_length=10_000)


class RecordUpdate(RequestModel):
    model_uuid: UUID4
    id: str = Field(min_length=1, max_length=200)
    data: dict[str, Any]


class _IdData(RequestModel):
    id: str = Field(min_length=1, max_length=200)
    data: dict[str, Any]


class RecordsUpdateBulk(RequestModel):
    model_uuid: UUID4
    records: list[_IdData] = Field(min_length=1, max_length=10_000)


class RecordRemove(RequestModel):
    model_uuid: UUID4
    id: str = Field(min_length=1, max_length=200)


class RecordsRemoveBulk(RequestModel):
    model_uuid: UUID4
    ids: list[str] = Field(min_length=1, max_length=10_000)


class RecordEnvelope(CamelModel):
    record: dict[str, Any]
    is_refreshing: bool | None = None


class RecordsEnvelope(CamelModel):
    records: list[dict[str, Any]]
    is_refreshing: bool | None = None


class QueryBody(RequestModel):
    query: str = Field(min_length=1, max_length=100_000)


class QueryEnvelope(CamelModel):
    rows: list[dict[str, Any]]
    is_refreshing: bool = False
