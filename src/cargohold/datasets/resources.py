"""The check of a `model` resource before a release or a turn stores it (services/config.py)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ..store import storage as store
from .filters import FilterInvalid
from .query import model_view

__all__ = ["model_resource_problem"]


async def model_resource_problem(
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    model_uuid: uuid.UUID | None,
    filter: dict[str, Any] | None,
    selected: list[str] | None,
    is_read_only: bool = True,
) -> str | None:
    """Why the resource cannot be used in this workspace (a sentence), or None."""
    if model_uuid is None:
        return "`modelUuid` is required"
    model = await store.get_model(session, workspace_uuid, model_uuid)
    if model is None:
        return f"model {model_uuid} not found in this workspace"
    if not is_read_only and model.kind != "native":
        return "`isReadOnly: false` is for native models only: connector datasets are read only"
    dialect = session.get_bind().dialect.name
    try:
        model_view(dialect, model).select(dialect, filter=filter, selected=selected)
    except FilterInvalid as exc:
        return str(exc)
    return None
