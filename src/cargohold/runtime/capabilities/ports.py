"""What capabilities need from the app's storage, as ports (`runtime/` imports no store): the
turn's `TurnContext.ports` holds implementations bound to the turn's workspace, user, agent and
chat (`services/capability_ports.py`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

__all__ = [
    "CapabilityPorts",
    "ChatFilePort",
    "DocumentPort",
    "DocumentVersion",
    "FoundMemory",
    "MemoryOwner",
    "MemoryPort",
]


@dataclass(frozen=True, slots=True)
class MemoryOwner:
    """Whose memories: the user's (`scope: user`, the default) or the agent's (`scope: agent`)."""

    scope: Literal["user", "agent"]
    owner_uuid: uuid.UUID


@dataclass(frozen=True, slots=True)
class FoundMemory:
    mem0_id: str
    content: str
    updated_at: datetime
    created: bool = False
    """For a save: True when a new memory was added, False when an existing one was updated."""


class MemoryPort(Protocol):
    async def save(self, owner: MemoryOwner, content: str) -> FoundMemory:
        """Add the fact, or update the memory holding the same fact (deduplicated)."""
        ...

    async def search(self, owner: MemoryOwner, query: str, limit: int) -> list[FoundMemory]:
        """The memories most relevant to `query`, best first."""
        ...

    async def relevant(self, owner: MemoryOwner, text: str, limit: int) -> list[FoundMemory]:
        """What to give the model at the start of a turn: the most relevant to `text`, then the
        most recent, at most `limit`."""
        ...


@dataclass(frozen=True, slots=True)
class DocumentVersion:
    uuid: uuid.UUID
    created_at: datetime
    title: str | None
    kind: str
    content: str


class DocumentPort(Protocol):
    async def create(self, title: str, kind: str, content: str) -> DocumentVersion: ...

    async def update(self, document_uuid: uuid.UUID, content: str) -> DocumentVersion | None:
        """A new version of a document of this workspace, or None when there is none."""
        ...


class ChatFilePort(Protocol):
    async def save(self, name: str, media_type: str, data: bytes) -> uuid.UUID:
        """Store `data` as a new temporary file of the turn's chat; its uuid (served at
        `/v1/content/files/{uuid}/raw` to the chat's workspace)."""
        ...


@dataclass(frozen=True, slots=True)
class CapabilityPorts:
    memories: MemoryPort
    documents: DocumentPort
    files: ChatFilePort | None = None
    """None when the app has no blob store (the code interpreter then sends small files inline)."""
