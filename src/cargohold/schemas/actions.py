"""Actions: what an agent may call, a tagged union on `kind` (`tools` is the older name of the list).

- `tool`: a workspace tool: a webhook managed through `/v1/tools` (`toolUuid`), or a Python
  function from the `cargohold.tools` entry-point group (`toolUuid: null`; `templateSlug`, else
  `slug`, names the entry point).
- `agent`: another agent of the workspace, answering as a sub-agent on its deployed release.
- `connector`: an action of an integration plugin (`cargohold.connectors` entry points), e.g.
  the built-in `http` connector's `request`.

Common fields: `slug` (the tool name the model sees), `name`, `description`, `isBulkAllowed`
(one call carries a list of inputs), `config` (input values pinned by the agent's author: merged
into every call and hidden from the model).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from ..errors import BadRequest
from .common import UUID4, CamelModel, RequestModel
from .safe import FreeJsonObject

__all__ = [
    "SLUG_PATTERN",
    "Action",
    "AgentAction",
    "ConnectorAction",
    "ToolAction",
    "WithActions",
    "dump_actions",
    "parse_actions",
]

SLUG_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"
"""What model providers accept as a tool name."""


class _Action(CamelModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=SLUG_PATTERN, description="The tool name the model sees: letters, digits, `_`, `-`.")
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)
    is_bulk_allowed: bool = Field(default=False, description="One call may carry a list of inputs (`items`).")
    config: FreeJsonObject = Field(
        default_factory=dict, description="Input values pinned for every call; hidden from the model."
    )


class ToolAction(_Action):
    kind: Literal["tool"]
    tool_uuid: UUID4 | None = Field(default=None, description="A webhook tool of `/v1/tools`.")
    template_slug: str | None = Field(
        default=None, max_length=200, description="With no `toolUuid`: the `cargohold.tools` entry point."
    )
    wait_until_finished: bool = Field(
        default=True, description='False: the call answers `{outcome: "executing", runUuid}` at once.'
    )


class AgentAction(_Action):
    kind: Literal["agent"]
    agent_uuid: UUID4 | None = None
    template_slug: str | None = Field(default=None, max_length=200)
    wait_until_finished: bool = True


class ConnectorAction(_Action):
    kind: Literal["connector"]
    integration_slug: str = Field(max_length=100, description="The connector plugin, e.g. `http`.")
    connector_uuid: UUID4 | None = None
    action_slug: str = Field(max_length=100, description="The plugin's action, e.g. `request`.")


Action = Annotated[ToolAction | AgentAction | ConnectorAction, Field(discriminator="kind")]
_ACTIONS = TypeAdapter(list[Action])


def parse_actions(
    raw: list[dict[str, Any]] | None, *, field: str = "actions"
) -> list[ToolAction | AgentAction | ConnectorAction]:
    """Validate a list of actions; a bad one is a 400 naming its place and field."""
    if not raw:
        return []
    try:
        actions = _ACTIONS.validate_python(raw, by_alias=True)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise BadRequest(f"`{field}.{where}`: {error['msg']}") from exc
    seen: set[str] = set()
    for action in actions:
        if action.slug in seen:
            raise BadRequest(f"`{field}`: two actions have the slug `{action.slug}`; slugs name tools and must differ")
        seen.add(action.slug)
    return actions


def dump_actions(actions: list[ToolAction | AgentAction | ConnectorAction]) -> list[dict[str, Any]]:
    return [a.model_dump(mode="json", by_alias=True) for a in actions]


class WithActions(RequestModel):
    """A request body with a list of actions, under either name: `actions` (D-new) or `tools` (D-old)."""

    actions: list[dict[str, Any]] | None = Field(
        default=None, description="What the agent may call (`tools` is the older name)."
    )
    tools: list[dict[str, Any]] | None = Field(default=None, description="Older name of `actions`.")

    @model_validator(mode="after")
    def _one_name_for_actions(self) -> WithActions:
        if self.actions is not None and self.tools is not None:
            raise ValueError("send `actions` or `tools`, not both")
        return self

    @property
    def effective_actions(self) -> list[dict[str, Any]] | None:
        return self.actions if self.actions is not None else self.tools
