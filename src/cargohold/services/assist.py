"""Model-made helpers around agents: suggested actions (`POST /v1/ai/suggestedActions/generate`,
cached per workspace by `cacheKey`) and the prompt helpers (`POST /v1/ai/prompts/...`). Each is one
structured-output call to the configured model (the agent's, when one is named)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

from pydantic_ai.models import Model
from sqlalchemy.exc import IntegrityError

from ..db.tables import Release, SuggestedActionsCache
from ..errors import MessageNotFound, ModelCallFailed
from ..runtime import prompts
from ..runtime.capabilities.suggested_actions import SuggestionRequest, generate_suggestions
from ..runtime.failures import describe_failure
from ..schemas.assist import PromptEvaluate, SuggestedActionsGenerate
from ..state import AppState
from ..store import messages as message_store
from ..store import releases as release_store
from ..store.workspaces import Principal
from .agents import require_agent

__all__ = ["evaluate_prompt", "generate_suggested_actions", "json_schema_for", "optimize_prompt"]

T = TypeVar("T")


def _text(parts: list[dict[str, Any]]) -> str:
    return "\n".join(p["text"] for p in parts if p.get("type") == "text" and isinstance(p.get("text"), str))


async def _called(call: Awaitable[T]) -> T:
    try:
        return await call
    except prompts.InvalidSchema as exc:
        raise ModelCallFailed(f"The model did not answer with a usable JSON Schema: {exc}") from exc
    except Exception as exc:
        raise ModelCallFailed(f"The model call failed: {describe_failure(exc)}") from exc


def _model(state: AppState, release: Release | None = None) -> Model:
    if release is not None:
        return state.models.model(state.models.choose(release.integration_slug, release.language_model_slug))
    return state.models.model(state.models.default_choice())


async def _agent_release(state: AppState, who: Principal, agent_uuid: uuid.UUID) -> Release | None:
    async with state.reads() as session:
        await require_agent(session, who, agent_uuid)
        for status in ("deployed", "draft"):
            release = await release_store.release_of_status(session, who.workspace_uuid, agent_uuid, status)
            if release is not None:
                return release
    return None


async def _exchange(state: AppState, who: Principal, message_uuid: uuid.UUID) -> tuple[str, str]:
    """(the user's question, the answer) around a message of the workspace."""
    async with state.reads() as session:
        message = await message_store.get_message(session, who.workspace_uuid, message_uuid)
        if message is None:
            raise MessageNotFound()
        if message.type == "user":
            return _text(message.parts), ""
        earlier = await message_store.history_of(session, message)
    question = next((_text(m.parts) for m in reversed(earlier) if m.type == "user"), "")
    return question, _text(message.parts)


async def generate_suggested_actions(
    state: AppState, who: Principal, body: SuggestedActionsGenerate
) -> list[dict[str, Any]]:
    if body.cache_key:
        async with state.reads() as session:
            cached = await session.get(SuggestedActionsCache, (who.workspace_uuid, body.cache_key))
            if cached is not None:
                return list(cached.suggested_actions)
    release = await _agent_release(state, who, body.agent_uuid) if body.agent_uuid else None
    question, answer = await _exchange(state, who, body.message_uuid) if body.message_uuid else ("", "")
    actions = body.actions if body.actions is not None else (list(release.actions or []) if release else [])
    request = SuggestionRequest(
        question=question,
        answer=answer,
        system_prompt=body.system_prompt or (release.system_prompt if release else None),
        context_prompt=body.context_prompt,
        actions=[a for a in actions if isinstance(a.get("slug"), str)],
    )
    suggestions = await _called(
        generate_suggestions(_model(state, release), request, request_timeout=state.settings.model_request_timeout)
    )
    if body.cache_key:
        try:
            async with state.sessions() as session, session.begin():
                if await session.get(SuggestedActionsCache, (who.workspace_uuid, body.cache_key)) is None:
                    session.add(
                        SuggestedActionsCache(
                            workspace_uuid=who.workspace_uuid, cache_key=body.cache_key, suggested_actions=suggestions
                        )
                    )
        except IntegrityError:  # the same key filled meanwhile by a concurrent call: keep that one
            pass
    return suggestions


def _tools(body: PromptEvaluate) -> list[dict[str, Any]]:
    tools = []
    for kind, items in (("action", body.actions), ("resource", body.resources), ("capability", body.capabilities)):
        for item in items or []:
            if isinstance(item.get("slug"), str):
                tools.append({"slug": item["slug"], "kind": kind, "description": item.get("description")})
    return tools


async def optimize_prompt(state: AppState, prompt: str) -> str:
    timeout = state.settings.model_request_timeout
    return await _called(prompts.optimize_prompt(_model(state), prompt, request_timeout=timeout))


async def evaluate_prompt(state: AppState, body: PromptEvaluate) -> tuple[str | None, str | None]:
    timeout = state.settings.model_request_timeout
    return await _called(prompts.evaluate_prompt(_model(state), body.prompt, _tools(body), request_timeout=timeout))


async def json_schema_for(state: AppState, prompt: str, system_prompt: str | None) -> dict[str, Any]:
    timeout = state.settings.model_request_timeout
    return await _called(prompts.json_schema_for(_model(state), prompt, system_prompt, request_timeout=timeout))
