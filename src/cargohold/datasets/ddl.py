"""A model's table as a query sees it (`GET /v1/storage/models/{uuid}/ddl`): the table name
`<datasetSlug>.<modelSlug>`, each column with the SQL type its view gives it, in the dialect the
query runs in (cargohold's database for native models, the connector's for connector models)."""

from __future__ import annotations

from typing import Any

from ..db.tables import Dataset, StorageModel
from .models import model_columns

__all__ = ["model_ddl"]

_TYPES = {
    "postgresql": {
        "string": "text",
        "number": "numeric",
        "boolean": "boolean",
        "date": "text",
        "object": "jsonb",
        "array": "jsonb",
        "any": "jsonb",
        "vector": "jsonb",
    },
    "sqlite": {
        "string": "TEXT",
        "number": "NUMERIC",
        "boolean": "INTEGER",
        "date": "TEXT",
        "object": "JSON",
        "array": "JSON",
        "any": "ANY",
        "vector": "JSON",
    },
}


def _dialect(dataset: Dataset, native: str) -> str:
    if dataset.kind == "native" or dataset.url is None:
        return native
    return "postgresql" if dataset.url.startswith("postgres") else "sqlite"


def model_ddl(model: StorageModel, dataset: Dataset, native_dialect: str) -> dict[str, Any]:
    dialect = _dialect(dataset, native_dialect)
    columns = model_columns(model)
    lines = []
    for i, column in enumerate(columns):
        kind = column["type"]
        sql_type = _TYPES[dialect][kind]
        if column["slug"] == "_emitted_at":
            sql_type = "timestamptz" if dialect == "postgresql" else "TEXT"
        note = column.get("description") or column.get("label") or ""
        comma = "," if i < len(columns) - 1 else ""
        lines.append(f'  "{column["slug"]}" {sql_type}{comma} -- {kind}{": " + note if note else ""}')
    body = "\n".join(lines)
    return {"ddl": f'CREATE TABLE "{dataset.slug}"."{model.slug}" (\n{body}\n);', "dialect": dialect}
