"""The tools a turn gets from its resources and capabilities, each kind from its own module:
`runtime/resources/<kind>.py` and `runtime/capabilities/<slug>.py`, each a function
`(config, ctx: TurnContext) -> ToolSource`.

A source that fails to build is left out of the turn and reported as a `data-tool-error` part.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic_ai.toolsets import FunctionToolset

from ..schemas.capabilities import Capability
from ..schemas.resources import FileResource, ModelResource, parse_resources
from .capabilities.registry import REGISTRY
from .context import ToolSource, TurnContext
from .resources.file import file_resource
from .resources.model import model_resource

__all__ = ["build_sources"]

log = logging.getLogger(__name__)


class SourceUnavailable(Exception):
    """A resource or capability that cannot be used this turn; its message is shown to the user."""


async def _resource_tools(resource: ModelResource | FileResource, ctx: TurnContext) -> ToolSource:
    # Each kind is checked before it is stored (services/config.py); reaching here unserved is a bug.
    match resource:
        case ModelResource():
            return await model_resource(resource, ctx)
        case FileResource():
            return await file_resource(resource, ctx)


async def _capability_tools(capability: Capability, ctx: TurnContext) -> ToolSource:
    spec = REGISTRY.get(capability.slug)
    if spec is None:  # checked before it is stored (services/config.py): a release older than this server
        raise SourceUnavailable(f"the capability {capability.slug!r} is not served by this cargohold version")
    source = await spec.build(capability, ctx)
    # Each tool a capability adds is recorded with its origin (Cargo's EvaluatedTool `capability`).
    for toolset in source.toolsets:
        if isinstance(toolset, FunctionToolset):
            for name in toolset.tools:
                source.evaluated.setdefault(name, {"kind": "capability", "name": name, "slug": capability.slug})
    return source


async def build_sources(
    resources: list[dict[str, Any]], capabilities: list[dict[str, Any]], ctx: TurnContext
) -> ToolSource:
    source = ToolSource()
    try:
        for resource in parse_resources(resources):
            try:
                source.add(await _resource_tools(resource, ctx))
            except SourceUnavailable as exc:
                source.errors.append({"name": resource.slug, "kind": "resource", "errorMessage": str(exc)})
        for raw in capabilities:
            capability = Capability.model_validate(raw)
            try:
                source.add(await _capability_tools(capability, ctx))
            except SourceUnavailable as exc:
                source.errors.append({"name": capability.slug, "kind": "capability", "errorMessage": str(exc)})
    except BaseException:
        await source.aclose()
        raise
    return source
