"""The `suggestedActions` capability: a turn ends with 1 to 5 follow-ups the user may click,
`{text, actions: [{slug}]}`, in the `finish` chunk's `messageMetadata.suggestedActions` and on the
message. They come from one structured-output model call after the turn's answer (no tool: the
answer is not disturbed), which `POST /v1/ai/suggestedActions/generate` makes too. A slug the
turn does not have is dropped: a suggestion never names an action that does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field
from pydantic_ai import Agent, ToolOutput
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import RunUsage, UsageLimits

from ...schemas.capabilities import Capability
from ..context import ToolSource, TurnContext

__all__ = ["OUTPUT_NAME", "FollowUps", "SuggestionRequest", "clean_suggestions", "generate_suggestions"]

OUTPUT_NAME = "suggested_actions"
"""The output tool's name (the offline model answers it: `runtime/offline_tasks.py`)."""
MAX_SUGGESTIONS = 5
MAX_TEXT_CHARS = 200


class FollowUp(BaseModel):
    text: str = Field(description="What the user would say next, in their words (a short sentence).")
    actions: list[str] = Field(default_factory=list, description="Slugs of the available actions it would use.")


class FollowUps(BaseModel):
    suggestions: list[FollowUp] = Field(description="1 to 5 follow-ups, most useful first.")


@dataclass(slots=True)
class SuggestionRequest:
    question: str = ""
    answer: str = ""
    system_prompt: str | None = None
    context_prompt: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    """`{slug, name?, description?}` of the actions the user may be pointed to."""


async def suggested_actions(capability: Capability, ctx: TurnContext) -> ToolSource:
    """Nothing during the turn: the follow-ups are made after it (`generate_suggestions`)."""
    return ToolSource()


def _prompt(request: SuggestionRequest) -> str:
    facts = {
        "question": request.question[-4000:],
        "answer": request.answer[-4000:],
        "actions": [
            {k: a[k] for k in ("slug", "name", "description") if a.get(k)} for a in request.actions if a.get("slug")
        ],
    }
    if request.system_prompt:
        facts["agentInstructions"] = request.system_prompt[-4000:]
    if request.context_prompt:
        facts["context"] = request.context_prompt[-2000:]
    return (
        "Suggest 1 to 5 short follow-ups the user could send next in this chat, each in the user's own words. "
        "Where one would use an available action, list its slug in `actions` (only slugs given below). "
        "The chat so far and the actions, as JSON:\n" + json.dumps(facts, ensure_ascii=False)
    )


def clean_suggestions(found: list[FollowUp], slugs: set[str]) -> list[dict[str, Any]]:
    """At most five, each with text, only real slugs, no two the same."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for follow_up in found:
        text = " ".join(follow_up.text.split())[:MAX_TEXT_CHARS]
        if not text or text.lower() in seen:
            continue
        seen.add(text.lower())
        actions = [{"slug": s} for s in dict.fromkeys(follow_up.actions) if s in slugs]
        out.append({"text": text, "actions": actions})
        if len(out) == MAX_SUGGESTIONS:
            break
    return out


async def generate_suggestions(
    model: Model, request: SuggestionRequest, *, usage: RunUsage | None = None, request_timeout: float = 60.0
) -> list[dict[str, Any]]:
    agent: Agent[None, FollowUps] = Agent(model, output_type=ToolOutput(FollowUps, name=OUTPUT_NAME))
    settings: ModelSettings = {"timeout": request_timeout}
    result = await agent.run(
        _prompt(request), model_settings=settings, usage=usage, usage_limits=UsageLimits(request_limit=3)
    )
    slugs = {a["slug"] for a in request.actions if isinstance(a.get("slug"), str)}
    return clean_suggestions(result.output.suggestions, slugs)
