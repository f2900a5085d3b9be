"""Memory use cases: the routes (`/v1/ai/memories`) and the `memory` capability's store
(`TurnMemories`, the port a turn's tools use). An owner is a user (`scope: user`) or an agent
(`scope: agent`) of the caller's workspace; one user never reads or changes another's memories."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from ..db.engine import SessionFactory
from ..db.tables import Memory
from ..db.types import utcnow
from ..errors import BadRequest, MemoryNotFound
from ..runtime.capabilities.memory import MAX_MEMORY_CHARS
from ..runtime.capabilities.ports import FoundMemory, MemoryOwner
from ..settings import Settings
from ..state import AppState
from ..store import memories as store
from ..store.workspaces import Principal
from .agents import require_agent
from .memory_search import embed_document, embed_query, embedder_for, normalized, rank

__all__ = ["TurnMemories", "delete_memory", "list_memories", "update_memory"]

MAX_SCANNED = 1000
"""The most memories of one owner searched (the most recently updated)."""


def _found(memory: Memory, *, created: bool = False) -> FoundMemory:
    return FoundMemory(memory.mem0_id, memory.content, memory.updated_at, created)


@dataclass(slots=True)
class TurnMemories:
    """The `memory` capability's store for one turn's workspace."""

    sessions: SessionFactory
    settings: Settings
    workspace_uuid: uuid.UUID

    async def save(self, owner: MemoryOwner, content: str) -> FoundMemory:
        embedding = await embed_document(embedder_for(self.settings), content)
        key = normalized(content)
        async with self.sessions() as session, session.begin():
            kept = await store.find_normalized(session, self.workspace_uuid, owner.scope, owner.owner_uuid, key)
            if kept is None and embedding is not None:
                kept = await self._near_duplicate(session, owner, embedding)
            now = utcnow()
            if kept is not None:
                kept.content, kept.normalized, kept.embedding, kept.updated_at = content, key, embedding, now
                return _found(kept)
            memory = Memory(
                mem0_id=str(uuid.uuid4()),
                workspace_uuid=self.workspace_uuid,
                scope=owner.scope,
                user_uuid=owner.owner_uuid if owner.scope == "user" else None,
                agent_uuid=owner.owner_uuid if owner.scope == "agent" else None,
                content=content,
                normalized=key,
                embedding=embedding,
                created_at=now,
                updated_at=now,
            )
            session.add(memory)
            return _found(memory, created=True)

    async def _near_duplicate(self, session: AsyncSession, owner: MemoryOwner, embedding: bytes) -> Memory | None:
        rows = await store.owner_memories(
            session, self.workspace_uuid, owner.scope, owner.owner_uuid, limit=MAX_SCANNED
        )
        vector = np.frombuffer(embedding, dtype=np.float32)
        best, best_score = None, self.settings.memory_duplicate_similarity
        for row in rows:
            if row.embedding is None:
                continue
            other = np.frombuffer(row.embedding, dtype=np.float32)
            if other.shape == vector.shape and (score := float(other @ vector)) >= best_score:
                best, best_score = row, score
        return best

    async def search(self, owner: MemoryOwner, query: str, limit: int) -> list[FoundMemory]:
        rows = await self._rows(owner)
        return [_found(rows[i]) for i, _ in (await self._ranked(rows, query))[:limit]]

    async def relevant(self, owner: MemoryOwner, text: str, limit: int) -> list[FoundMemory]:
        rows = await self._rows(owner)
        picked = [i for i, _ in (await self._ranked(rows, text))[:limit]]
        picked += [i for i in range(len(rows)) if i not in picked][: limit - len(picked)]
        return [_found(rows[i]) for i in picked]

    async def _rows(self, owner: MemoryOwner) -> list[Memory]:
        async with self.sessions() as session:
            return await store.owner_memories(
                session, self.workspace_uuid, owner.scope, owner.owner_uuid, limit=MAX_SCANNED
            )

    async def _ranked(self, rows: list[Memory], query: str) -> list[tuple[int, float]]:
        vector = await embed_query(embedder_for(self.settings), query)
        return rank(query, [(r.content, r.embedding) for r in rows], vector)


async def _owner(state: AppState, who: Principal, scope: str, agent_uuid: uuid.UUID | None) -> MemoryOwner:
    if scope == "user":
        return MemoryOwner("user", who.user_uuid)
    if agent_uuid is None:
        raise BadRequest("`agentUuid` is required with `scope=agent`")
    async with state.reads() as session:
        await require_agent(session, who, agent_uuid)
    return MemoryOwner("agent", agent_uuid)


Scope = Literal["user", "agent"]


async def list_memories(state: AppState, who: Principal, scope: Scope, agent_uuid: uuid.UUID | None) -> list[Memory]:
    owner = await _owner(state, who, scope, agent_uuid)
    async with state.reads() as session:
        return await store.owner_memories(session, who.workspace_uuid, owner.scope, owner.owner_uuid, limit=MAX_SCANNED)


async def update_memory(
    state: AppState, who: Principal, mem0_id: str, content: str, scope: Scope, agent_uuid: uuid.UUID | None
) -> None:
    content = " ".join(content.split())
    if not content or len(content) > MAX_MEMORY_CHARS:
        raise BadRequest(f"`content` must hold 1 to {MAX_MEMORY_CHARS} characters")
    owner = await _owner(state, who, scope, agent_uuid)
    embedding = await embed_document(embedder_for(state.settings), content)
    async with state.sessions() as session, session.begin():
        memory = await store.get_memory(session, who.workspace_uuid, owner.scope, owner.owner_uuid, mem0_id)
        if memory is None:
            raise MemoryNotFound()
        memory.content, memory.normalized, memory.embedding = content, normalized(content), embedding
        memory.updated_at = utcnow()


async def delete_memory(
    state: AppState, who: Principal, mem0_id: str, scope: Scope, agent_uuid: uuid.UUID | None
) -> None:
    owner = await _owner(state, who, scope, agent_uuid)
    async with state.sessions() as session, session.begin():
        memory = await store.get_memory(session, who.workspace_uuid, owner.scope, owner.owner_uuid, mem0_id)
        if memory is None:
            raise MemoryNotFound()
        await store.delete_memory(session, memory)
