"""Suggested actions and prompt helpers (cargo-ai-api §1.7, §1.8): model-made suggestions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .common import UUID4, CamelModel, RequestModel
from .safe import FreeJsonObjects

__all__ = [
    "PromptEnvelope",
    "PromptEvaluate",
    "PromptEvaluation",
    "PromptJsonSchema",
    "PromptJsonSchemaEnvelope",
    "PromptOptimize",
    "SuggestedAction",
    "SuggestedActionsEnvelope",
    "SuggestedActionsGenerate",
]


class SuggestedActionSlug(CamelModel):
    slug: str


class SuggestedAction(CamelModel):
    text: str
    actions: list[SuggestedActionSlug] = Field(default_factory=list)


class SuggestedActionsEnvelope(CamelModel):
    suggested_actions: list[SuggestedAction]


class SuggestedActionsGenerate(RequestModel):
    cache_key: str | None = Field(default=None, max_length=500, description="The same key answers from the cache.")
    message_uuid: UUID4 | None = Field(default=None, description="Suggest follow-ups to this message's exchange.")
    system_prompt: str | None = Field(default=None, max_length=100_000)
    context_prompt: str | None = Field(default=None, max_length=100_000)
    agent_uuid: UUID4 | None = Field(default=None, description="Its deployed release fills what is not given.")
    actions: FreeJsonObjects | None = Field(default=None, max_length=200)
    resources: FreeJsonObjects | None = Field(default=None, max_length=200)
    capabilities: FreeJsonObjects | None = Field(default=None, max_length=50)


class PromptOptimize(RequestModel):
    prompt: str = Field(min_length=1, max_length=100_000)


class PromptEnvelope(CamelModel):
    prompt: str


class PromptEvaluate(RequestModel):
    prompt: str = Field(max_length=100_000)
    actions: FreeJsonObjects | None = Field(default=None, max_length=200)
    resources: FreeJsonObjects | None = Field(default=None, max_length=200)
    capabilities: FreeJsonObjects | None = Field(default=None, max_length=50)


class PromptEvaluation(CamelModel):
    prompt: str | None = Field(default=None, description="The prompt, improved, when it is usable.")
    error_message: str | None = Field(default=None, description="What is wrong with it, when it is not.")


class PromptJsonSchema(RequestModel):
    prompt: str = Field(min_length=1, max_length=100_000, description="What the structured output should hold.")
    system_prompt: str | None = Field(default=None, max_length=100_000)


class PromptJsonSchemaEnvelope(CamelModel):
    json_schema: dict[str, Any]
