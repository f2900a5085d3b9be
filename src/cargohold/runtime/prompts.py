"""Prompt helpers, each one structured-output model call (`POST /v1/ai/prompts/...`): optimise a
system prompt, evaluate it against an agent's actions, resources and capabilities, and write a
JSON Schema for a structured output. Each prompt ends with its facts as one JSON line, which the
offline model reads (`runtime/offline_tasks.py`)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from pydantic_ai import Agent, ToolOutput
from pydantic_ai.models import Model
from pydantic_ai.settings import ModelSettings
from pydantic_ai.usage import UsageLimits

__all__ = [
    "EVALUATE",
    "JSON_SCHEMA",
    "OPTIMIZE",
    "InvalidSchema",
    "evaluate_prompt",
    "json_schema_for",
    "optimize_prompt",
    "with_facts",
]

OPTIMIZE = "optimized_prompt"
EVALUATE = "prompt_evaluation"
JSON_SCHEMA = "json_schema"
Out = TypeVar("Out", bound=BaseModel)


class InvalidSchema(ValueError):
    """The model's answer is not a JSON Schema of an object."""


class OptimizedPrompt(BaseModel):
    prompt: str = Field(description="The improved system prompt, complete.")


class PromptEvaluation(BaseModel):
    problems: list[str] = Field(description="What keeps the prompt from working, one sentence each; empty if none.")
    prompt: str | None = Field(default=None, description="The prompt, improved, when it has no problems.")


class JsonSchemaText(BaseModel):
    json_schema: str = Field(description="A JSON Schema (draft 2020-12) of an object, as JSON text.")


def with_facts(instructions: str, facts: dict[str, Any]) -> str:
    return f"{instructions}\n{json.dumps(facts, ensure_ascii=False)}"


async def _ask(model: Model, name: str, output: type[Out], prompt: str, request_timeout: float) -> Out:
    agent: Agent[None, Out] = Agent(model, output_type=ToolOutput(output, name=name))
    settings: ModelSettings = {"timeout": request_timeout}
    result = await agent.run(prompt, model_settings=settings, usage_limits=UsageLimits(request_limit=3))
    return result.output


async def optimize_prompt(model: Model, prompt: str, *, request_timeout: float = 60.0) -> str:
    text = with_facts(
        "Rewrite this system prompt of an AI agent so it works better: clear role, concrete instructions, the "
        "expected output; keep every requirement it states and add none. The prompt, as JSON:",
        {"prompt": prompt},
    )
    return (await _ask(model, OPTIMIZE, OptimizedPrompt, text, request_timeout)).prompt


async def evaluate_prompt(
    model: Model, prompt: str, tools: list[dict[str, Any]], *, request_timeout: float = 60.0
) -> tuple[str | None, str | None]:
    """(improved prompt, None) when the prompt is usable with these tools, else (None, problems)."""
    text = with_facts(
        "Check this system prompt of an AI agent against the tools it has (actions, resources, capabilities): "
        "list what keeps it from working (a tool it names that is not there, no clear task, contradictions); "
        "if nothing does, give it improved. The prompt and the tools, as JSON:",
        {"prompt": prompt, "tools": tools},
    )
    found = await _ask(model, EVALUATE, PromptEvaluation, text, request_timeout)
    if found.problems:
        return None, " ".join(p.strip() for p in found.problems if p.strip())
    return found.prompt or prompt, None


async def json_schema_for(
    model: Model, prompt: str, system_prompt: str | None = None, *, request_timeout: float = 60.0
) -> dict[str, Any]:
    facts: dict[str, Any] = {"prompt": prompt}
    if system_prompt:
        facts["systemPrompt"] = system_prompt
    text = with_facts(
        "Write the JSON Schema of the structured output this describes: an object with one property per "
        "field asked for, each typed and described, the ones always present listed in `required`. As JSON:",
        facts,
    )
    answer = (await _ask(model, JSON_SCHEMA, JsonSchemaText, text, request_timeout)).json_schema
    try:
        schema = json.loads(answer)
    except ValueError as exc:
        raise InvalidSchema("the model's answer is not JSON") from exc
    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise InvalidSchema("the model's answer is not the JSON Schema of an object")
    return schema
