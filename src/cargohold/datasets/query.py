"""Queries over a workspace's models: `POST /v1/storage/query` (tables `<datasetSlug>.<modelSlug>`)
and a model resource's tool (one table, named by the resource's slug, already narrowed).

The query is guarded (`guard.py`), each table it names is replaced by the compiled view of that
model (`views.py`; native views are always narrowed to the model and the workspace), and the
whole runs read-only with a timeout and a row cap (`runner.py`). A query reads one dataset: the
native one (cargohold's database) or one connector's database.
"""

from __future__ import annotations

import json
import uuid
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..db.tables import Dataset, StorageModel
from ..store import storage as store
from .connectors import ConnectorError, connector_engine
from .filters import FilterInvalid
from .guard import GLOT_DIALECT, QueryRefused, guard_query
from .runner import QueryFailed, QueryResult, run_read_only, wrap_query
from .views import ModelView, compile_view, connector_view, native_view

__all__ = ["ResourceTarget", "model_view", "run_resource_query", "run_workspace_query"]


def model_view(dialect: str, model: StorageModel) -> ModelView:
    if model.kind == "native":
        return native_view(dialect, model.workspace_uuid, model.uuid, model.columns)
    return connector_view(model.extractor_slug, model.config, model.columns, model.config["idColumnSlug"])


def _schemas_named(sql: str, dialect: str) -> set[str]:
    try:
        statements = sqlglot.parse(sql, read=GLOT_DIALECT.get(dialect, "postgres"))
    except SqlglotError as exc:
        raise QueryRefused(f"the query is not valid SQL: {str(exc).splitlines()[0]}") from None
    return {t.db for s in statements if s is not None for t in s.find_all(exp.Table) if t.db}


async def _run(conn: AsyncConnection, sql: str, cap: int, timeout_seconds: float) -> QueryResult:
    try:
        return await run_read_only(conn, sql, cap=cap, timeout_seconds=timeout_seconds)
    finally:
        await conn.rollback()


def _decode_json(result: QueryResult, models: list[StorageModel]) -> QueryResult:
    """SQLite hands JSON values back as text and booleans as 0/1 where PostgreSQL decodes them:
    output columns named as an object, array or boolean column of the models read are decoded,
    so both give the same rows."""
    slugs = {c["slug"] for m in models for c in m.columns if c["type"] in ("object", "array")}
    flags = {c["slug"] for m in models for c in m.columns if c["type"] == "boolean"}
    for row in result.rows if slugs or flags else []:
        for key in slugs.intersection(row):
            value = row[key]
            if isinstance(value, str) and value[:1] in ("{", "["):
                with suppress(ValueError):
                    row[key] = json.loads(value)
        for key in flags.intersection(row):
            if row[key] in (0, 1) and not isinstance(row[key], bool):
                row[key] = bool(row[key])
    return result


async def _run_on(session: AsyncSession, dataset: Dataset, build: Any, cap: int, timeout_seconds: float) -> QueryResult:
    """`build(dialect) -> (views, query, models)` is run for the dataset's dialect, then the query."""
    if dataset.kind == "native":
        conn = await session.connection()
        views, query, models = build(conn.dialect)
        result = await run_read_only(conn, wrap_query(views, query, cap), cap=cap, timeout_seconds=timeout_seconds)
        return _decode_json(result, models) if conn.dialect.name == "sqlite" else result
    assert dataset.url is not None
    try:
        async with connector_engine(dataset.url) as engine, engine.connect() as conn:
            views, query, _ = build(engine.dialect)
            return await _run(conn, wrap_query(views, query, cap), cap, timeout_seconds)
    except ConnectorError as exc:
        raise QueryFailed(str(exc)) from None
    except (OSError, DBAPIError) as exc:  # connecting failed (its message may name the host: only its type)
        raise QueryFailed(f"the connector `{dataset.slug}` cannot be reached ({type(exc).__name__})") from None


async def run_workspace_query(
    session: AsyncSession, workspace_uuid: uuid.UUID, sql: str, *, cap: int, timeout_seconds: float
) -> QueryResult:
    """`QueryRefused` (the guard), `QueryFailed` (the database), else the rows. `session` reads
    (on SQLite a `query_only` connection of the reader pool)."""
    datasets = {d.slug: d for d in await store.list_datasets(session, workspace_uuid)}
    named = _schemas_named(sql, session.get_bind().dialect.name)
    chosen = {datasets[s].uuid: datasets[s] for s in named if s in datasets}
    if len(chosen) > 1:
        raise QueryRefused("a query reads the models of one dataset (the native one, or one connector)")
    if not chosen:
        native = next((d for d in datasets.values() if d.kind == "native"), None)
        if native is None:
            raise QueryRefused("the query names no model: name tables as `<datasetSlug>.<modelSlug>`")
        dataset = native
    else:
        dataset = next(iter(chosen.values()))
    models = {m.slug.lower(): m for m in await store.list_models(session, workspace_uuid, dataset.uuid)}

    def build(dialect: Any) -> tuple[dict[str, str], str, list[StorageModel]]:
        views: dict[str, str] = {}
        names: dict[str, str] = {}

        def resolve(schema: str | None, name: str) -> str | None:
            if schema is None or schema.lower() != dataset.slug.lower() or name.lower() not in models:
                return None
            model = models[name.lower()]
            if model.slug not in names:
                names[model.slug] = f"_ch_m{len(names)}"
                views[names[model.slug]] = compile_view(model_view(dialect.name, model).select(dialect.name), dialect)
            return names[model.slug]

        query = guard_query(sql, dialect.name, resolve)
        return views, query, [models[n.lower()] for n in names]

    return await _run_on(session, dataset, build, cap, timeout_seconds)


@dataclass(frozen=True)
class ResourceTarget:
    """A model resource as its tool reads it: one table named `slug`."""

    slug: str
    model: StorageModel
    dataset: Dataset
    filter: dict[str, Any] | None
    selected: list[str] | None


async def run_resource_query(
    session: AsyncSession, target: ResourceTarget, sql: str, *, cap: int, timeout_seconds: float
) -> QueryResult:
    def build(dialect: Any) -> tuple[dict[str, str], str, list[StorageModel]]:
        try:
            view = model_view(dialect.name, target.model).select(
                dialect.name, filter=target.filter, selected=target.selected
            )
        except FilterInvalid as exc:
            raise QueryRefused(f"the resource's filter: {exc}") from None
        views = {"_ch_r": compile_view(view, dialect)}

        def resolve(schema: str | None, name: str) -> str | None:
            return "_ch_r" if schema is None and name.lower() == target.slug.lower() else None

        return views, guard_query(sql, dialect.name, resolve), [target.model]

    return await _run_on(session, target.dataset, build, cap, timeout_seconds)
