"""Capabilities: built-in abilities a release switches on, `{slug, config}` (cargo-ai-api §2.5)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from .common import CamelModel

__all__ = ["NOT_SERVED", "SERVED", "Capability", "CapabilitySlug"]

CapabilitySlug = Literal[
    "memory",
    "webSearch",
    "fileSearch",
    "codeInterpreter",
    "document",
    "suggestedActions",
    "sandbox",
    "context",
    "app",
    "code",
    "documentationSearch",
]
SERVED = ("memory", "webSearch", "fileSearch", "codeInterpreter", "document", "suggestedActions")
NOT_SERVED = ("sandbox", "context", "app", "code", "documentationSearch")


class Capability(CamelModel):
    model_config = ConfigDict(extra="forbid")

    slug: CapabilitySlug
    config: dict[str, Any] = Field(default_factory=dict)
