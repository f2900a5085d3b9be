"""A data model as a typed table: a Core `Select` whose columns are the model's columns.

Native records live in one table (`storage_records`, values in `data`); their view reads each
column out of `data` with the dialect's JSON operators, typed by the column's type, and is always
narrowed to one model of one workspace. A connector model's view reads its table (or its stored
query) on the connector's database. A resource narrows a view further (`narrow`): its filter and
its selected columns, plus `_id`. The guard (`guard.py`) puts compiled views where a query names
its tables, so a query can read nothing but them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from ..db.tables import StorageRecord
from .filters import ColumnRef, FilterInvalid, compile_filter
from .guard import QueryRefused, check_clause

__all__ = ["ModelView", "compile_view", "connector_view", "escape_colons", "native_view"]

RECORDS = StorageRecord.__table__


@dataclass(frozen=True)
class ModelView:
    """What a model looks like as a table: its columns (slug -> ref) over `source`."""

    columns: dict[str, ColumnRef]
    where: tuple[sa.ColumnElement[bool], ...]
    source: sa.FromClause

    def select(
        self, dialect: str, *, filter: dict[str, Any] | None = None, selected: list[str] | None = None
    ) -> sa.Select[Any]:
        """The view narrowed to `filter` and to the `selected` columns (plus `_id`). Both layers are
        flattened by the planners of SQLite and PostgreSQL (an index on a column's expression is used)."""
        if selected is None:
            slugs = list(self.columns)
        else:
            unknown = [s for s in selected if s not in self.columns]
            if unknown:
                raise FilterInvalid(f"`selectedColumnSlugs`: no column `{unknown[0]}` in this model")
            slugs = ["_id", *dict.fromkeys(s for s in selected if s != "_id")]
        inner = (
            sa.select(*(ref.value.label(slug) for slug, ref in self.columns.items()))
            .select_from(self.source)
            .where(*self.where)
            .subquery("v")
        )
        query = sa.select(*(inner.c[s] for s in slugs))
        if filter:
            refs = {s: ColumnRef(r.kind, inner.c[s], inner.c[s], r.is_datetime) for s, r in self.columns.items()}

            def clause(sql: str) -> sa.ColumnElement[bool]:
                try:
                    checked = check_clause(sql, dialect, set(self.columns))
                except QueryRefused as exc:
                    raise FilterInvalid(f"`sql` condition: {exc}") from None
                return sa.text(f"({escape_colons(checked)})")  # type: ignore[return-value]

            query = query.where(compile_filter(filter, refs, dialect, clause))
        return query


def _native_ref(slug: str, kind: str, dialect: str) -> ColumnRef:
    data = RECORDS.c.data
    if dialect == "postgresql":
        doc = sa.type_coerce(data, postgresql.JSONB)
        text: sa.ColumnElement[Any] = doc.op("->>")(sa.literal(slug, sa.Text))
        match kind:
            case "number":
                value: sa.ColumnElement[Any] = sa.cast(text, sa.Numeric)
            case "boolean":
                value = sa.cast(text, sa.Boolean)
            case "string" | "date":
                value = text
            case _:
                value = doc.op("->")(sa.literal(slug, sa.Text))
        return ColumnRef(kind, value, text)
    extracted = sa.func.json_extract(data, sa.literal(f'$."{slug}"', sa.Text))
    return ColumnRef(kind, extracted, extracted)


def native_view(
    dialect: str, workspace_uuid: uuid.UUID, model_uuid: uuid.UUID, columns: list[dict[str, Any]]
) -> ModelView:
    refs = {
        "_id": ColumnRef("string", RECORDS.c.id, RECORDS.c.id),
        "_title": ColumnRef("string", RECORDS.c.title, RECORDS.c.title),
        "_emitted_at": ColumnRef("date", RECORDS.c.emitted_at, RECORDS.c.emitted_at, is_datetime=True),
    }
    for column in columns:
        refs[column["slug"]] = _native_ref(column["slug"], column["type"], dialect)
    where = (RECORDS.c.model_uuid == model_uuid, RECORDS.c.workspace_uuid == workspace_uuid)
    return ModelView(refs, where, RECORDS)


def escape_colons(sql: str) -> str:
    # `text()` reads `:name` as a bind parameter; a stored query's own colons are literal.
    return re.sub(r"(?<![:\\]):(?!:)", r"\\:", sql)


def connector_view(extractor: str, config: dict[str, Any], columns: list[dict[str, Any]], id_column: str) -> ModelView:
    names = [c["slug"] for c in columns]
    if extractor == "table":
        schema, _, table = str(config["table"]).rpartition(".")
        source: sa.FromClause = sa.table(table, *(sa.column(n) for n in names), schema=schema or None)
    else:
        source = sa.text(escape_colons(config["query"])).columns(*(sa.column(n) for n in names)).subquery("src")
    refs = {c["slug"]: ColumnRef(c["type"], source.c[c["slug"]], source.c[c["slug"]]) for c in columns}
    if "_id" not in refs:
        refs = {"_id": ColumnRef("string", source.c[id_column], source.c[id_column]), **refs}
    return ModelView(refs, (), source)


def compile_view(query: sa.Select[Any], dialect: Dialect) -> str:
    """The view as SQL text of the dialect: values are rendered by SQLAlchemy's literal processors
    (the filter's values are bound parameters of the Core expression, never pasted strings)."""
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
