"""/v1/ai/suggestedActions and /v1/ai/prompts: HTTP only; the work is in services/assist.py."""

from __future__ import annotations

from fastapi import APIRouter

from ..schemas.assist import (
    PromptEnvelope,
    PromptEvaluate,
    PromptEvaluation,
    PromptJsonSchema,
    PromptJsonSchemaEnvelope,
    PromptOptimize,
    SuggestedAction,
    SuggestedActionsEnvelope,
    SuggestedActionsGenerate,
)
from ..schemas.common import ERROR_RESPONSES, ErrorBody
from ..services import assist as service
from .deps import Caller, State

__all__ = ["router"]

router = APIRouter(
    prefix="/v1/ai",
    responses={
        **ERROR_RESPONSES,
        502: {"model": ErrorBody, "description": "The model call failed (`modelCallFailed`): the provider's fault"},
    },
)


@router.post(
    "/suggestedActions/generate",
    tags=["AI - Suggested actions"],
    summary="Suggest follow-ups (cached per workspace by `cacheKey`)",
)
async def generate_suggested_actions(
    state: State, who: Caller, body: SuggestedActionsGenerate
) -> SuggestedActionsEnvelope:
    found = await service.generate_suggested_actions(state, who, body)
    return SuggestedActionsEnvelope(suggested_actions=[SuggestedAction.model_validate(s) for s in found])


@router.post("/prompts/optimize", tags=["AI - Prompts"], summary="Rewrite a system prompt so it works better")
async def optimize_prompt(state: State, who: Caller, body: PromptOptimize) -> PromptEnvelope:
    return PromptEnvelope(prompt=await service.optimize_prompt(state, body.prompt))


@router.post(
    "/prompts/evaluate",
    tags=["AI - Prompts"],
    summary="Check a system prompt against actions, resources and capabilities",
    response_model_exclude_none=True,
)
async def evaluate_prompt(state: State, who: Caller, body: PromptEvaluate) -> PromptEvaluation:
    prompt, problem = await service.evaluate_prompt(state, body)
    return PromptEvaluation(prompt=prompt, error_message=problem)


@router.post(
    "/prompts/generateJsonSchema", tags=["AI - Prompts"], summary="Write the JSON Schema of a structured output"
)
async def generate_json_schema(state: State, who: Caller, body: PromptJsonSchema) -> PromptJsonSchemaEnvelope:
    return PromptJsonSchemaEnvelope(json_schema=await service.json_schema_for(state, body.prompt, body.system_prompt))
