"""The `memory` capability: long-term facts kept across chats (cargo-ai-api §1.8, Memory).

Tools `save_memory {content}` and `search_memories {query}`. Memories belong to the user the turn
runs for (`config: {scope: "user"}`, the default) or to its agent (`{scope: "agent"}`): one user
never reads another's. At the start of each turn the few most relevant to the user's message are
given to the model as instructions. Saving a fact already kept updates it (see
`services/memory_search.py` for how facts are matched and ranked).
"""

from __future__ import annotations

from typing import Any

from pydantic_ai import RunContext, Tool
from pydantic_ai.exceptions import ToolFailed
from pydantic_ai.toolsets import FunctionToolset

from ...schemas.capabilities import Capability
from ...settings import Settings
from ..context import ToolSource, TurnContext
from .ports import FoundMemory, MemoryOwner

__all__ = ["MAX_MEMORY_CHARS", "memory", "memory_problem"]

MAX_MEMORY_CHARS = 2000
SEARCH_LIMIT = 10
_SAVE_SCHEMA = {
    "type": "object",
    "properties": {
        "content": {
            "type": "string",
            "description": "One lasting fact, in a short self-contained sentence (e.g. `The user's company is Acme`).",
        }
    },
    "required": ["content"],
    "additionalProperties": False,
}
_SEARCH_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string", "description": "What to look for in the saved memories."}},
    "required": ["query"],
    "additionalProperties": False,
}


def memory_problem(capability: Capability, settings: Settings) -> str | None:
    scope = capability.config.get("scope", "user")
    if scope not in ("user", "agent"):
        return f"capability `memory`: `config.scope` must be `user` or `agent`, not {scope!r}"
    return None


def _owner(capability: Capability, ctx: TurnContext) -> MemoryOwner | str:
    if capability.config.get("scope", "user") == "agent":
        if ctx.agent_uuid is None:
            return "memory scoped to the agent needs a turn with an agent (`agentUuid`)"
        return MemoryOwner("agent", ctx.agent_uuid)
    if ctx.user_uuid is None:
        return "memory scoped to the user needs a turn sent by a user"
    return MemoryOwner("user", ctx.user_uuid)


def _found(memory: FoundMemory) -> dict[str, Any]:
    return {"mem0Id": memory.mem0_id, "content": memory.content, "updatedAt": memory.updated_at.isoformat()}


def _instructions(owner: MemoryOwner, memories: list[FoundMemory]) -> str:
    whose = "the user" if owner.scope == "user" else "this agent"
    text = (
        f"You have a long-term memory about {whose} that lasts across chats. When the user shares a lasting "
        "fact or preference, save it with `save_memory` (one short fact per call); look facts up with "
        "`search_memories`."
    )
    if memories:
        text += "\n\nWhat you remember (saved in earlier chats):\n" + "\n".join(f"- {m.content}" for m in memories)
    return text


async def memory(capability: Capability, ctx: TurnContext) -> ToolSource:
    owner = _owner(capability, ctx)
    if isinstance(owner, str):
        return ToolSource(errors=[{"name": "memory", "kind": "capability", "errorMessage": owner}])
    if ctx.ports is None:
        return ToolSource(errors=[{"name": "memory", "kind": "capability", "errorMessage": "no memory store here"}])
    memories = ctx.ports.memories
    inject = ctx.settings.memory_inject_count

    async def save_memory(run: RunContext[Any], content: str) -> dict[str, Any]:
        content = " ".join(content.split())
        if not content:
            raise ToolFailed("`content` is empty: give the fact to remember")
        if len(content) > MAX_MEMORY_CHARS:
            raise ToolFailed(f"a memory holds at most {MAX_MEMORY_CHARS} characters: save a shorter fact")
        saved = await memories.save(owner, content)
        return {"outcome": "executed", "data": {**_found(saved), "status": "created" if saved.created else "updated"}}

    async def search_memories(run: RunContext[Any], query: str) -> dict[str, Any]:
        found = await memories.search(owner, query, SEARCH_LIMIT)
        return {"outcome": "executed", "data": {"memories": [_found(m) for m in found]}}

    tools = [
        Tool.from_schema(
            save_memory,
            name="save_memory",
            description="Save a lasting fact about the user or their work to long-term memory (kept across chats). "
            "Saving a fact already kept updates it.",
            json_schema=_SAVE_SCHEMA,
            takes_ctx=True,
        ),
        Tool.from_schema(
            search_memories,
            name="search_memories",
            description="Search the long-term memory for facts saved in earlier chats.",
            json_schema=_SEARCH_SCHEMA,
            takes_ctx=True,
        ),
    ]
    relevant = await memories.relevant(owner, ctx.user_text, inject) if inject > 0 else []
    return ToolSource(toolsets=[FunctionToolset(tools)], instructions=[_instructions(owner, relevant)])
