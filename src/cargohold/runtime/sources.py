"""The tools a turn gets from its resources and capabilities, each kind from its own module:
`runtime/resources/<kind>.py` and `runtime/capabilities/<slug>.py`, each a function
`(config, ctx: TurnContext) -> ToolSource`.

A source that fails to build is left out of the turn and reported as a `data-tool-error` part.
"""

from __future__ import annotations

import logging
from typing import Any

from ..schemas.capabilities import Capability
from ..schemas.resources import FileResource, ModelResource, parse_resources
from .capabilities.code_interpreter import code_interpreter  # issue 14: codeInterpreter
from .capabilities.web_search import web_search  # issue 14: webSearch
from .context import ToolSource, TurnContext
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
            raise SourceUnavailable("file resources are not served by this cargohold version")


async def _capability_tools(capability: Capability, ctx: TurnContext) -> ToolSource:
    # --- issue 14: webSearch, codeInterpreter ---
    if capability.slug == "webSearch":
        return await web_search(capability, ctx)
    if capability.slug == "codeInterpreter":
        return await code_interpreter(capability, ctx)
    # --- end webSearch, codeInterpreter ---
    raise SourceUnavailable(f"the capability {capability.slug!r} is not served by this cargohold version")


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
