"""A `model` resource as tools of a turn (cargo-ai-api §2.4).

The resource becomes a tool named by its `slug` that takes `{"sql": "..."}`: one read-only SELECT
over a table named `<slug>`, which is the model already narrowed to the resource's `filter` and
`selectedColumnSlugs` (plus `_id`). Whatever the model writes, the guard (`datasets/guard.py`)
lets it read that table only, so it never sees a row outside the filter, a column outside the
selection, or another model. The answer is Cargo's tool outcome `{outcome: "executed", data:
{rows, truncated}}` with at most `limit` rows (default 100, at most 1,000); a refused or failing
query is a `ToolFailed` (an `output-error` part) and the turn goes on.

With `isReadOnly: false` a native model also gets `<slug>_create` and `<slug>_update`: they write
the selected columns only, and only records inside the filter (checked in the same transaction).
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from pydantic_ai import RunContext, Tool
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.toolsets import FunctionToolset
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ...datasets.errors import InvalidRecord
from ...datasets.guard import QueryRefused
from ...datasets.models import model_columns, new_id, record_values, title_of
from ...datasets.query import ResourceTarget, model_view, run_resource_query
from ...datasets.runner import QueryFailed
from ...datasets.secrets import ensure_keyring
from ...db.engine import make_reader_engine
from ...db.tables import StorageRecord
from ...db.types import utcnow
from ...schemas.resources import ModelResource
from ...store import storage as store
from ..context import ToolSource, TurnContext

__all__ = ["DEFAULT_LIMIT", "model_resource"]

DEFAULT_LIMIT = 100
QUERY_TIMEOUT_SECONDS = 10.0
SQL_SCHEMA = {
    "type": "object",
    "properties": {"sql": {"type": "string", "description": "One read-only SELECT over the table."}},
    "required": ["sql"],
    "additionalProperties": False,
}


def _unavailable(resource: ModelResource, message: str) -> ToolSource:
    return ToolSource(errors=[{"name": resource.slug, "kind": "resource", "errorMessage": message}])


def _describe(resource: ModelResource, columns: list[dict[str, Any]], limit: int, dialect: str) -> str:
    lines = []
    if resource.name:
        lines.append(resource.name)
    if resource.description:
        lines.append(resource.description)
    if resource.prompt:
        lines.append(resource.prompt)
    shown = ", ".join(
        f"{c['slug']} ({c['type']}{': ' + c['description'] if c.get('description') else ''})" for c in columns
    )
    sql = "PostgreSQL" if dialect == "postgresql" else "SQLite"
    lines.append(
        f"Query it with one read-only SELECT ({sql} dialect) over the table `{resource.slug}`, "
        f"whose columns are: {shown}. At most {limit} rows are returned (`truncated` says there were more)."
    )
    return "\n\n".join(lines)


def _dialect_of(url: str | None, native: str) -> str:
    if url is None:
        return native
    return "postgresql" if url.startswith("postgres") else "sqlite"


def _fit(rows: list[dict[str, Any]], truncated: bool, budget: int) -> dict[str, Any]:
    """Rows that fit the turn's tool output budget (the last ones dropped, `truncated` set)."""
    size = 60
    kept: list[dict[str, Any]] = []
    for row in rows:
        size += len(json.dumps(row, ensure_ascii=False, default=str)) + 1
        if size > budget:
            return {"rows": kept, "truncated": True}
        kept.append(row)
    return {"rows": kept, "truncated": truncated}


async def model_resource(resource: ModelResource, ctx: TurnContext) -> ToolSource:
    if resource.model_uuid is None:
        return _unavailable(resource, f"resource `{resource.slug}` names no model (`modelUuid`)")
    engine: AsyncEngine = ctx.sessions.kw["bind"]
    ensure_keyring(ctx.settings.database_url, engine)
    # Reads go through a reader pool: on SQLite `query_only` connections that never take the write lock.
    reader = make_reader_engine(ctx.settings.database_url, engine)
    ensure_keyring(ctx.settings.database_url, reader)
    reads = async_sessionmaker(reader, expire_on_commit=False)
    try:
        async with reads() as session:
            model = await store.get_model(session, ctx.workspace_uuid, resource.model_uuid)
            dataset = (
                None if model is None else await store.get_dataset(session, ctx.workspace_uuid, model.dataset_uuid)
            )
    except BaseException:
        if reader is not engine:
            await reader.dispose()
        raise
    if model is None or dataset is None:
        if reader is not engine:
            await reader.dispose()
        return _unavailable(resource, f"the model of resource `{resource.slug}` was not found (deleted?)")
    selected = resource.selected_column_slugs
    target = ResourceTarget(resource.slug, model, dataset, resource.filter, selected)
    columns = [c for c in model_columns(model) if selected is None or c["slug"] in selected or c["slug"] == "_id"]
    limit = min(resource.limit or DEFAULT_LIMIT, 1000)
    budget = int(ctx.settings.max_tool_output_bytes * 0.9)
    source = ToolSource()
    if reader is not engine:
        source.closers.append(reader.dispose)

    async def query(run: RunContext[Any], sql: str) -> dict[str, Any]:
        try:
            async with reads() as session:
                result = await run_resource_query(
                    session, target, sql, cap=limit, timeout_seconds=QUERY_TIMEOUT_SECONDS
                )
        except (QueryRefused, QueryFailed) as exc:
            raise ToolFailed(f"query refused: {exc}") from None
        return {"outcome": "executed", "data": _fit(result.rows, result.truncated, budget)}

    tools: list[Tool[Any]] = [
        Tool.from_schema(
            query,
            name=resource.slug,
            description=_describe(resource, columns, limit, _dialect_of(dataset.url, engine.dialect.name)),
            json_schema=SQL_SCHEMA,
            takes_ctx=True,
        )
    ]
    evaluated = {"kind": "model", "name": resource.name or resource.slug, "modelUuid": str(model.uuid)}
    source.evaluated[resource.slug] = {**evaluated, "isReadOnly": resource.is_read_only}
    if not resource.is_read_only and model.kind == "native":
        for tool in _write_tools(resource, target, ctx, columns):
            tools.append(tool)
            source.evaluated[tool.name] = {**evaluated, "isReadOnly": False}
    source.toolsets.append(FunctionToolset(tools))
    return source


def _write_tools(
    resource: ModelResource, target: ResourceTarget, ctx: TurnContext, columns: list[dict[str, Any]]
) -> list[Tool[Any]]:
    model = target.model
    writable = [c for c in columns if not c["slug"].startswith("_")]
    allowed = {c["slug"] for c in writable}
    properties = {c["slug"]: {"description": f"{c['type']}: {c.get('description') or c['label']}"} for c in writable}
    data_schema = {"type": "object", "properties": properties, "additionalProperties": False}
    shown = ", ".join(f"{c['slug']} ({c['type']})" for c in writable)

    def checked(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise ToolFailed("`data` must be an object of column values")
        outside = sorted(set(data) - allowed)
        if outside:
            raise ToolFailed(f"the column `{outside[0]}` cannot be written by this resource (columns: {shown})")
        return data

    async def inside(session: AsyncSession, record_id: str) -> bool:
        dialect = session.get_bind().dialect.name
        view = model_view(dialect, model).select(dialect, filter=target.filter, selected=[]).subquery("r")
        found = await session.execute(sa.select(view.c["_id"]).where(view.c["_id"] == record_id))
        return found.first() is not None

    async def create(run: RunContext[Any], data: dict[str, Any]) -> dict[str, Any]:
        values = _values(model, checked(data))
        record_id = new_id({}, 0)
        async with ctx.sessions() as session, session.begin():
            now = utcnow()
            session.add(
                StorageRecord(
                    model_uuid=model.uuid,
                    id=record_id,
                    workspace_uuid=ctx.workspace_uuid,
                    title=title_of(model, record_id, values),
                    emitted_at=now,
                    data=values,
                )
            )
            await session.flush()
            if not await inside(session, record_id):
                await session.rollback()
                raise ToolFailed("the record would be outside this resource's filter: nothing was written")
        return {"outcome": "executed", "data": {"_id": record_id, **values}}

    async def update(run: RunContext[Any], id: str, data: dict[str, Any]) -> dict[str, Any]:
        values = _values(model, checked(data), partial=True)
        async with ctx.sessions() as session, session.begin():
            if not await inside(session, id):
                raise ToolFailed(f"no record `{id}` in this resource")
            record = (await store.get_records(session, ctx.workspace_uuid, model.uuid, [id]))[id]
            merged = {k: v for k, v in {**record.data, **values}.items() if v is not None}
            record.data = merged
            record.title = title_of(model, id, merged)
            await session.flush()
            if not await inside(session, id):
                await session.rollback()
                raise ToolFailed("the change would move the record outside this resource's filter: nothing was written")
        return {"outcome": "executed", "data": {"_id": id, **{k: merged.get(k) for k in allowed}}}

    create_schema = {"type": "object", "properties": {"data": data_schema}, "required": ["data"]}
    update_schema = {
        "type": "object",
        "properties": {"id": {"type": "string", "description": "The record's `_id`."}, "data": data_schema},
        "required": ["id", "data"],
    }
    return [
        Tool.from_schema(
            create,
            name=f"{resource.slug}_create",
            description=f"Create a record in `{resource.slug}`. Columns: {shown}.",
            json_schema=create_schema,
            takes_ctx=True,
        ),
        Tool.from_schema(
            update,
            name=f"{resource.slug}_update",
            description=f"Update a record of `{resource.slug}` by `_id` (given columns; null clears one).",
            json_schema=update_schema,
            takes_ctx=True,
        ),
    ]


def _values(model: Any, data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    try:
        return record_values(model, 0, data, partial=partial)
    except InvalidRecord as exc:
        raise ToolFailed(exc.error_message.replace("record 0, ", "")) from None
