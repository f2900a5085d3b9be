"""Checking a model's config (native columns; a connector's `table` or `sql` extractor) and the
records of native models against their columns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..db.tables import Dataset, StorageModel, StorageRecord
from ..schemas.storage import NativeColumn
from .columns import RESERVED, RecordInvalid, check_value, system_columns
from .connectors import ConnectorError, query_columns, table_columns
from .errors import InvalidRecord, ModelNotCompatible

__all__ = ["checked_config", "record_out", "record_values", "title_of"]

_COLUMNS = TypeAdapter(list[NativeColumn])
NATIVE_CONFIG_KEYS = {"columns", "titleColumnSlug", "timeColumnSlug"}


async def checked_config(
    dataset: Dataset, extractor: str, config: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]], str, str | None]:
    """(config as stored, columns, titleColumnSlug, timeColumnSlug), or `ModelNotCompatible`."""
    if dataset.kind == "native":
        if extractor != "native":
            raise ModelNotCompatible('a model of the native dataset has `extractorSlug: "native"`')
        unknown = sorted(set(config) - NATIVE_CONFIG_KEYS)
        if unknown:
            raise ModelNotCompatible(f"`config.{unknown[0]}` is not a native model setting")
        try:
            columns = _COLUMNS.validate_python(config.get("columns") or [])
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ModelNotCompatible(f"`config.columns.{where}`: {first['msg']}") from None
        slugs = [c.slug for c in columns]
        if len(set(slugs)) != len(slugs):
            raise ModelNotCompatible("`config.columns`: two columns have the same slug")
        dumped = [c.model_dump(by_alias=True, exclude_none=True) for c in columns]
        types = {c.slug: c.type for c in columns}
        title = config.get("titleColumnSlug") or next((c.slug for c in columns if c.type == "string"), "_id")
        if title != "_id" and types.get(title) not in ("string", "number"):
            raise ModelNotCompatible("`config.titleColumnSlug` must name a string or number column")
        time = config.get("timeColumnSlug")
        if time is not None and time != "_emitted_at" and types.get(time) != "date":
            raise ModelNotCompatible("`config.timeColumnSlug` must name a date column")
        stored = {"columns": dumped, "titleColumnSlug": title, **({"timeColumnSlug": time} if time else {})}
        return stored, dumped, title, time
    if dataset.url is None:  # pragma: no cover - a connector dataset always has its URL
        raise ModelNotCompatible("this dataset has no database")
    try:
        match extractor:
            case "table":
                if set(config) - {"table", "idColumnSlug", "titleColumnSlug"} or not isinstance(
                    config.get("table"), str
                ):
                    raise ModelNotCompatible("a `table` model has `config: {table, idColumnSlug?, titleColumnSlug?}`")
                found = await table_columns(dataset.url, config["table"])
                stored = {"table": config["table"]}
            case "sql":
                if set(config) - {"query", "idColumnSlug", "titleColumnSlug"} or not isinstance(
                    config.get("query"), str
                ):
                    raise ModelNotCompatible("an `sql` model has `config: {query, idColumnSlug?, titleColumnSlug?}`")
                query, found = await query_columns(dataset.url, config["query"])
                stored = {"query": query}
            case _:
                raise ModelNotCompatible('a connector model has `extractorSlug: "table"` or `"sql"`')
    except ConnectorError as exc:
        raise ModelNotCompatible(str(exc)) from None
    if not found:
        raise ModelNotCompatible("the table or query has no columns")
    slugs = [c["slug"] for c in found]
    id_column = config.get("idColumnSlug") or slugs[0]
    title = config.get("titleColumnSlug") or id_column
    for key, value in (("idColumnSlug", id_column), ("titleColumnSlug", title)):
        if value not in slugs:
            raise ModelNotCompatible(f"`config.{key}`: no column `{value}`")
    stored.update({"idColumnSlug": id_column, "titleColumnSlug": title})
    return stored, found, str(title), None


def title_of(model: StorageModel, record_id: str, data: dict[str, Any]) -> str:
    value = data.get(model.title_column_slug) if model.title_column_slug != "_id" else None
    return record_id if value is None else str(value)


def record_values(model: StorageModel, index: int, data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """The record's values as stored (nulls left out), or `InvalidRecord` naming record and column."""
    types = {c["slug"]: c["type"] for c in model.columns}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in RESERVED:
            if key == "_id" and not partial:
                continue
            raise InvalidRecord(f"record {index}: `{key}` is set by cargohold, not in `data`")
        if key not in types:
            raise InvalidRecord(f"record {index}: no column `{key}` in model `{model.slug}`")
        try:
            checked = check_value(types[key], value)
        except RecordInvalid as exc:
            raise InvalidRecord(f"record {index}, column `{key}`: {exc}") from None
        out[key] = checked
    return out if partial else {k: v for k, v in out.items() if v is not None}


def new_id(data: dict[str, Any], index: int) -> str:
    given = data.get("_id")
    if given is None:
        return str(uuid.uuid4())
    if not isinstance(given, str | int) or isinstance(given, bool) or not str(given) or len(str(given)) > 200:
        raise InvalidRecord(f"record {index}, column `_id`: expected a string of 1 to 200 characters")
    return str(given)


def record_out(record: StorageRecord) -> dict[str, Any]:
    emitted: datetime = record.emitted_at
    return {
        "_id": record.id,
        "_title": record.title,
        "_emitted_at": emitted.isoformat().replace("+00:00", "Z"),
        **record.data,
    }


def model_columns(model: StorageModel) -> list[dict[str, Any]]:
    if model.kind == "native":
        return [*system_columns(), *({"kind": "original", **c} for c in model.columns)]
    return list(model.columns)
