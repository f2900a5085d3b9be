"""An agent action: another agent of the workspace answers as a sub-agent, on its deployed release.

Its text is the tool's output; its usage and credits are added to the calling message. Nesting is
bounded (`CARGOHOLD_MAX_AGENT_DEPTH`) and a cycle (an agent already running in the chain) is
refused with an error result the model sees.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.messages import ModelRequest, UserPromptPart
from pydantic_ai.models import Model
from pydantic_ai.toolsets import AbstractToolset
from pydantic_ai.usage import RunUsage

from ..errors import CargoholdError
from ..runtime.agent import AgentSpec, build_agent
from ..runtime.credits import usage_record
from ..runtime.failures import describe_failure
from ..runtime.toolsets.guard import guard_tools
from ..store import agents as agent_store
from ..store import releases as release_store
from .connectors import turn_choice
from .turn_tools import TurnScope, build_turn_tools

__all__ = ["Wrap", "refusal", "run_subagent"]


Wrap = Callable[[Model, list[AbstractToolset[Any]]], tuple[Model, list[AbstractToolset[Any]]]]
"""What a durable executor wraps a sub-agent's model and toolsets with (jobs/temporal: journaled)."""


def refusal(scope: TurnScope, agent_uuid: uuid.UUID) -> str | None:
    """Why the agent may not be called from here (a cycle, too deep), or None."""
    if agent_uuid in scope.chain:
        return f"refused: agent {agent_uuid} is already running in this chain of agents (a cycle)"
    if scope.depth + 1 > scope.deps.settings.max_agent_depth:
        return f"refused: agents may call agents at most {scope.deps.settings.max_agent_depth} deep"
    return None


async def run_subagent(
    scope: TurnScope, agent_uuid: uuid.UUID, prompt: str, call_id: str = "", *, wrap: Wrap | None = None
) -> str:
    """The agent's answer to `prompt` (`call_id`: the tool call that asks; a durable executor keys
    the sub-agent's turn by it). Run here, to its end; with `wrap`, its steps go through it."""
    deps, settings = scope.deps, scope.deps.settings
    refused = refusal(scope, agent_uuid)
    if refused is not None:
        raise ToolFailed(refused)
    async with deps.sessions() as session:
        agent = await agent_store.get_agent(session, scope.workspace_uuid, agent_uuid)
        if agent is None:
            raise ToolFailed(f"agent {agent_uuid} does not exist in this workspace")
        release = await release_store.release_of_status(session, scope.workspace_uuid, agent_uuid, "deployed")
        if release is None:
            raise ToolFailed(f"agent {agent.name!r} has no deployed release")
        name = agent.name
        try:
            choice = await turn_choice(
                deps,
                session,
                scope.workspace_uuid,
                release.integration_slug,
                release.language_model_slug,
                release.connector_uuid,
            )
        except CargoholdError as exc:
            raise ToolFailed(f"agent {name!r} cannot run: {exc.error_message}") from exc
    try:
        resolved = await deps.models.resolve(scope.workspace_uuid, choice)
    except CargoholdError as exc:
        raise ToolFailed(f"agent {name!r} cannot run: {exc.error_message}") from exc

    sub = dataclasses.replace(scope, chain=(*scope.chain, agent_uuid))
    tools = await build_turn_tools(sub, release.actions, release.mcp_clients)
    usage = RunUsage()
    try:
        model, toolsets = (
            resolved.model,
            guard_tools(
                deps.tools,
                tools.toolsets,
                max_output_bytes=settings.max_tool_output_bytes,
                builtin_timeout=settings.builtin_tool_timeout,
            ),
        )
        if wrap is not None:
            model, toolsets = wrap(model, toolsets)
        turn = build_agent(
            AgentSpec(
                model=model,
                history=[ModelRequest(parts=[UserPromptPart(prompt)])],
                toolsets=toolsets,
                system_prompt=release.system_prompt,
                temperature=release.temperature,
                with_reasoning=bool(release.with_reasoning),
                max_steps=release.max_steps or settings.default_max_steps,
                request_timeout=settings.model_request_timeout,
            )
        )
        return (await turn.output(usage)).strip()
    except ToolFailed:
        raise
    except Exception as exc:
        raise ToolFailed(f"agent {name!r} failed: {describe_failure(exc)}") from exc
    finally:
        await tools.aclose()
        scope.sub_usage.append(usage_record(usage, choice.slug, resolved.prices, connector_uuid=choice.connector_uuid))
