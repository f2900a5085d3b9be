"""The capabilities this server runs: slug -> how a turn gets it (`build`, a function
`(capability, ctx) -> ToolSource` in `runtime/capabilities/<slug>.py`) and, optionally, why this
server cannot run it (`problem`: a 400 before a release or a turn is stored, e.g. a setting to
set). A slug of `schemas.capabilities.CapabilitySlug` not listed here is refused as not served.

Adding a capability is one line here (and its module).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ...schemas.capabilities import Capability
from ...settings import Settings
from ..context import ToolSource, TurnContext
from .availability import capability_problem as _problem
from .code_interpreter import code_interpreter
from .document import document
from .file_search import file_search
from .memory import memory, memory_problem
from .suggested_actions import suggested_actions
from .web_search import web_search

__all__ = ["REGISTRY", "CapabilitySpec", "capability_problem", "capability_tools"]

Build = Callable[[Capability, TurnContext], Awaitable[ToolSource]]
Problem = Callable[[Capability, Settings], str | None]


@dataclass(frozen=True, slots=True)
class CapabilitySpec:
    build: Build
    problem: Problem | None = None
    tools: tuple[str, ...] = ()
    """The tool names it adds: an action or resource may not take one (a 400 when a turn is sent)."""


REGISTRY: dict[str, CapabilitySpec] = {
    "memory": CapabilitySpec(memory, memory_problem, ("save_memory", "search_memories")),
    "document": CapabilitySpec(document, tools=("create_document", "update_document")),
    "suggestedActions": CapabilitySpec(suggested_actions),
    "webSearch": CapabilitySpec(web_search, lambda c, s: _problem(c.slug, s), ("web_search", "fetch_url")),
    "codeInterpreter": CapabilitySpec(code_interpreter, lambda c, s: _problem(c.slug, s), ("run_python",)),
    "fileSearch": CapabilitySpec(lambda capability, ctx: file_search(capability.config, ctx), tools=("file_search",)),
}


def capability_problem(capability: Capability, settings: Settings) -> str | None:
    """Why this server cannot run the capability, or None. (Not-served slugs are refused first.)"""
    spec = REGISTRY.get(capability.slug)
    if spec is None:
        return f"capability `{capability.slug}` is not supported by this cargohold version yet"
    return spec.problem(capability, settings) if spec.problem else None


def capability_tools(capabilities: list[dict[str, object]]) -> dict[str, str]:
    """tool name -> the capability (slug) that adds it, for these (checked) capabilities."""
    names: dict[str, str] = {}
    for capability in capabilities:
        spec = REGISTRY.get(str(capability.get("slug")))
        if spec is not None:
            names.update(dict.fromkeys(spec.tools, str(capability.get("slug"))))
    return names
