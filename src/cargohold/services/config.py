"""Checks of an agent configuration (a release's, or a turn's effective one) before it is stored:
the model exists, every action binds to something in this workspace, MCP clients are well formed,
and fields this server does not run yet are refused rather than silently ignored."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from ..datasets.resources import model_resource_problem
from ..errors import BadRequest, InvalidActions, InvalidConnector, UrlNotAllowed
from ..files.resources import file_resource_problem
from ..runtime.capabilities.registry import capability_problem, capability_tools
from ..runtime.outbound import OutboundRefused, check_url
from ..schemas.actions import AgentAction, ConnectorAction, ToolAction, dump_actions, parse_actions
from ..schemas.capabilities import NOT_SERVED, Capability
from ..schemas.mcp_clients import ConnectorMcpClient, CustomMcpClient, parse_mcp_clients
from ..schemas.resources import FileResource, ModelResource, Resource
from ..schemas.secrets import CREDENTIAL_KEY, MASK, mask_authentication, masked_paths, refuse_masked_actions
from ..settings import Settings
from ..state import AppState
from ..store import agents as agent_store
from ..store import mcp_connections as mcp_store
from ..store import tools as tool_store

__all__ = [
    "check_actions",
    "check_capabilities",
    "check_mcp_clients",
    "check_resources",
    "check_tool_names",
    "refuse_unsupported",
]


def refuse_unsupported(**nullable: Any) -> None:
    """Structured output, evaluators and skills arrive in later cargohold versions: a non-empty
    value is a 400, never ignored. (A release's `heartbeat` is served: schemas/releases.Heartbeat.)"""
    for name, value in nullable.items():
        if value:
            raise BadRequest(f"`{name}` is not supported by this cargohold version yet; send null or omit it")


async def check_actions(
    state: AppState,
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    raw: list[dict[str, Any]] | None,
    *,
    bind: bool = True,
) -> list[dict[str, Any]]:
    """The actions, normalised (defaults filled in); with `bind`, each must bind in this workspace.
    (A deployed release's actions are not re-bound on every turn: one whose tool or agent was
    deleted since is left out of the turn and shown as a `data-tool-error` part.)"""
    actions = parse_actions(raw)
    if not bind:
        return dump_actions(actions)
    refuse_masked_actions(raw)
    builtin = {tool.name for tool in state.tools.all()}
    for action in actions:
        where = f"action `{action.slug}`"
        if action.slug in builtin:
            raise InvalidActions(f"{where}: the slug is taken by the built-in tool of that name; choose another")
        if isinstance(action, ToolAction):
            if action.tool_uuid is not None:
                if await tool_store.get_tool(session, workspace_uuid, action.tool_uuid) is None:
                    raise InvalidActions(f"{where}: tool {action.tool_uuid} not found in this workspace")
            elif (action.template_slug or action.slug) not in state.plugins.tools:
                installed = ", ".join(sorted(state.plugins.tools)) or "none"
                raise InvalidActions(
                    f"{where}: give `toolUuid` (a tool of /v1/tools) or name an installed Python tool "
                    f"(`cargohold.tools` entry points: {installed})"
                )
        elif isinstance(action, AgentAction):
            if action.agent_uuid is None:
                raise InvalidActions(f"{where}: `agentUuid` is required")
            if await agent_store.get_agent(session, workspace_uuid, action.agent_uuid) is None:
                raise InvalidActions(f"{where}: agent {action.agent_uuid} not found in this workspace")
        elif isinstance(action, ConnectorAction):
            connector = state.plugins.connectors.get(action.integration_slug)
            if connector is None:
                installed = ", ".join(sorted(state.plugins.connectors)) or "none"
                raise InvalidActions(f"{where}: no connector {action.integration_slug!r} (installed: {installed})")
            if action.action_slug not in connector.actions:
                names = ", ".join(sorted(connector.actions))
                raise InvalidActions(
                    f"{where}: connector {connector.slug!r} has no action {action.action_slug!r} ({names})"
                )
    return dump_actions(actions)


async def check_mcp_clients(
    state: AppState,
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    raw: list[dict[str, Any]] | None,
    *,
    bind: bool = True,
) -> list[dict[str, Any]]:
    """The clients as they are stored on a release or a message: well formed, custom, each url
    allowed by the outbound guard now (not only at call time), and each `authentication` kept in the
    encrypted `mcp_connections` store, the stored client holding it masked and its `credentialKey`.
    A client sent back masked keeps its credential only with its `credentialKey` (see
    `restore_redacted`) and the same url; a mask standing for nothing is a 400. Without `bind`
    (a release's clients, checked and stored so when it was saved) they are only parsed."""
    if not raw:
        return []
    clients = parse_mcp_clients(raw)
    if not bind:
        return [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in clients]
    names = [c.name for c in clients]
    if len(set(names)) != len(names):
        raise BadRequest("`mcpClients`: two clients have the same name; names prefix their tools and must differ")
    stored: list[dict[str, Any]] = []
    for i, client in enumerate(clients):
        if isinstance(client, ConnectorMcpClient):
            raise InvalidConnector(
                f"MCP client {client.name!r}: `connector` MCP clients need a Cargo connector, which this server "
                "does not have; use a `custom` client with the server's url"
            )
        try:
            await check_url(client.url, state.outbound)
        except OutboundRefused as exc:
            if exc.kind != "unresolved":  # a name that does not resolve now may later; the call checks again
                raise UrlNotAllowed(f"`mcpClients[{i}].url`: {exc}") from exc
        stored.append(await _seal(session, workspace_uuid, client, f"mcpClients[{i}]"))
    return stored


async def _seal(
    session: AsyncSession, workspace_uuid: uuid.UUID, client: CustomMcpClient, field: str
) -> dict[str, Any]:
    out = client.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"credential_key"})
    if client.authentication is None:
        return out
    given = client.authentication.model_dump(mode="json", by_alias=True, exclude_none=True)
    masked = masked_paths(given)
    if masked:
        kept = None
        if client.credential_key is not None:
            kept = await mcp_store.read_credential(session, workspace_uuid, client.credential_key, client.url)
        if kept is None:
            raise BadRequest(
                f"`{field}.authentication.{masked[0]}`: `{MASK}` stands for a stored secret, and this client has "
                "none to keep (it is new, or its name or url changed): send its authentication in clear"
            )
        given = {**kept, **{k: v for k, v in given.items() if v != MASK}}
    key = await mcp_store.save_credential(session, workspace_uuid, client.url, given)
    return {**out, "authentication": mask_authentication(given), CREDENTIAL_KEY: key}


_RESOURCES: TypeAdapter[list[ModelResource | FileResource]] = TypeAdapter(list[Resource])
_CAPABILITIES: TypeAdapter[list[Capability]] = TypeAdapter(list[Capability])


async def check_resources(
    state: AppState,
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    raw: list[dict[str, Any]] | None,
    *,
    bind: bool = True,
) -> list[dict[str, Any]]:
    """The resources, normalised; with `bind`, each must name something of this workspace."""
    try:
        resources = _RESOURCES.validate_python(raw or [])
    except ValidationError as exc:
        raise BadRequest(f"`resources`: {validation_summary(exc)}") from exc
    slugs = [r.slug for r in resources]
    if len(set(slugs)) != len(slugs):
        raise BadRequest("`resources`: two resources have the same slug; slugs name their tools and must differ")
    builtin = {tool.name for tool in state.tools.all()}
    for resource in resources:
        where = f"resource `{resource.slug}`"
        if resource.slug in builtin:
            raise BadRequest(f"{where}: the slug is taken by the built-in tool of that name; choose another")
        match resource:
            case ModelResource():
                if bind and (
                    problem := await model_resource_problem(
                        session,
                        workspace_uuid,
                        resource.model_uuid,
                        resource.filter,
                        resource.selected_column_slugs,
                        resource.is_read_only,
                    )
                ):
                    raise BadRequest(f"{where}: {problem}")
            case FileResource():
                if bind and (problem := await file_resource_problem(session, workspace_uuid, resource.items)):
                    raise BadRequest(f"{where}: {problem}")
    return [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in resources]


def check_capabilities(raw: list[dict[str, Any]] | None, settings: Settings) -> list[dict[str, Any]]:
    """The capabilities, normalised: an unknown slug, one not served yet, or one this server cannot
    run as configured (`runtime/capabilities/registry.py`) is a 400."""
    try:
        capabilities = _CAPABILITIES.validate_python(raw or [])
    except ValidationError as exc:
        raise BadRequest(f"`capabilities`: {validation_summary(exc)}") from exc
    slugs = [c.slug for c in capabilities]
    if len(set(slugs)) != len(slugs):
        raise BadRequest("`capabilities`: a capability is listed twice")
    for capability in capabilities:
        if capability.slug in NOT_SERVED:
            raise BadRequest(f"capability `{capability.slug}` is not served by cargohold yet")
        if problem := capability_problem(capability, settings):
            raise BadRequest(problem)
    return [c.model_dump(mode="json", by_alias=True) for c in capabilities]


def check_tool_names(
    actions: list[dict[str, Any]], resources: list[dict[str, Any]], capabilities: list[dict[str, Any]]
) -> None:
    """An action or resource slug may not be the name of a tool a capability of the turn adds."""
    taken = capability_tools(capabilities)
    for field, items in (("actions", actions), ("resources", resources)):
        for item in items:
            if (slug := item.get("slug")) in taken:
                raise BadRequest(
                    f"`{field}`: `{slug}` is the name of a tool of the capability `{taken[slug]}`; choose another slug"
                )


def validation_summary(exc: ValidationError) -> str:
    """Field paths and messages of a validation error, never the input itself."""
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc']) or 'value'}: {error['msg']}" for error in exc.errors()[:5]
    )
