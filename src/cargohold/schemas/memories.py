"""Memories (`/v1/ai/memories`, cargo-ai-api §1.8): facts the `memory` capability keeps."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import Field

from .common import UUID4, CamelModel, RequestModel

__all__ = ["MemoriesEnvelope", "Memory", "MemoryUpdate"]


class Memory(CamelModel):
    mem0_id: str = Field(description="The memory's id.")
    content: str
    scope: Literal["user", "agent"]
    user_uuid: UUID | None = Field(default=None, description="With `scope: user`: whose memory it is.")
    agent_uuid: UUID | None = Field(default=None, description="With `scope: agent`: the agent's.")
    workspace_uuid: UUID
    created_at: datetime
    updated_at: datetime


class MemoriesEnvelope(CamelModel):
    memories: list[Memory]


class MemoryUpdate(RequestModel):
    content: str = Field(min_length=1, max_length=2000, description="The fact, as it should be remembered.")
    scope: Literal["user", "agent"] = "user"
    agent_uuid: UUID4 | None = Field(default=None, description="Required with `scope: agent`.")
