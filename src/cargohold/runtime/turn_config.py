"""`TurnConfig`: what one turn runs with, typed. Built once when the turn is stored (each field of
the request over the agent's release, checked as a whole), stored on the assistant message's
columns, and read back from them by whichever process runs the turn."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CONFIG_COLUMNS", "TurnConfig"]


class _ConfigRow(Protocol):
    """A row holding a turn's configuration columns (an assistant `Message`)."""

    integration_slug: str | None
    connector_uuid: UUID | None
    language_model_slug: str | None
    system_prompt: str | None
    context_prompt: str | None
    temperature: float | None
    with_reasoning: bool | None
    max_steps: int | None
    actions: list[dict[str, Any]]
    mcp_clients: list[dict[str, Any]]
    resources: list[dict[str, Any]]
    capabilities: list[dict[str, Any]]
    suggested_actions: list[dict[str, Any]]


class TurnConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    integration_slug: str = "offline"
    language_model_slug: str = "offline"
    connector_uuid: UUID | None = None
    """The connector whose credentials run the model; None: the server's keys."""
    system_prompt: str | None = None
    context_prompt: str | None = None
    temperature: float | None = None
    with_reasoning: bool = False
    max_steps: int | None = None
    """None: the server's default (`CARGOHOLD_DEFAULT_MAX_STEPS`)."""
    actions: list[dict[str, Any]] = Field(default_factory=list)
    """Normalised actions (`schemas.actions.dump_actions`)."""
    mcp_clients: list[dict[str, Any]] = Field(default_factory=list)
    resources: list[dict[str, Any]] = Field(default_factory=list)
    capabilities: list[dict[str, Any]] = Field(default_factory=list)
    suggested_actions: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of_row(cls, row: _ConfigRow) -> TurnConfig:
        return cls(
            integration_slug=row.integration_slug or "offline",
            language_model_slug=row.language_model_slug or "offline",
            connector_uuid=row.connector_uuid,
            system_prompt=row.system_prompt,
            context_prompt=row.context_prompt,
            temperature=row.temperature,
            with_reasoning=bool(row.with_reasoning),
            max_steps=row.max_steps,
            actions=list(row.actions or []),
            mcp_clients=list(row.mcp_clients or []),
            resources=list(row.resources or []),
            capabilities=list(row.capabilities or []),
            suggested_actions=list(row.suggested_actions or []),
        )

    def reaches_out(self) -> bool:
        """Whether the turn binds actions, MCP clients, resources or capabilities: building them
        reads the database and may call out, so a run does that only once its message is stored."""
        return bool(self.actions or self.mcp_clients or self.resources or self.capabilities)

    def columns(self) -> dict[str, Any]:
        """The assistant message's columns that hold this configuration."""
        return self.model_dump()


CONFIG_COLUMNS = tuple(TurnConfig.model_fields)
