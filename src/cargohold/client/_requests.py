"""What each client call sends and what it reads back, written once for both clients."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_ai.ui.vercel_ai import response_types as rt

from ..schemas.agents import AgentEnvelope, AgentsEnvelope
from ..schemas.chats import ChatEnvelope, ChatsEnvelope
from ..schemas.messages import MessageEnvelope, MessagePair, MessagesEnvelope
from ..schemas.releases import ReleaseEnvelope, ReleasesEnvelope
from ..schemas.tools import ToolCreated, ToolEnvelope, ToolRunEnvelope, ToolsEnvelope

__all__ = ["Calls", "CargoholdAPIError", "Chunk", "Req", "error_of", "parse_chunk", "sse_events"]

Chunk = rt.BaseChunk | dict[str, Any]
"""A UI message stream chunk: pydantic-ai's model of its type, or the plain JSON object for a type
(or a field) the installed pydantic-ai does not know (`data-*` parts are `DataChunk`s)."""

_CHUNKS: dict[str, type[rt.BaseChunk]] = {}
for _name in dir(rt):
    _cls = getattr(rt, _name)
    if isinstance(_cls, type) and issubclass(_cls, rt.BaseChunk) and _cls is not rt.BaseChunk:
        _default = _cls.model_fields.get("type")
        if _default is not None and isinstance(_default.default, str):
            _CHUNKS[_default.default] = _cls


class CargoholdAPIError(Exception):
    """An error answer: its HTTP status, Cargo `reason` (when given) and `errorMessage`."""

    def __init__(self, status: int, message: str, reason: str | None = None) -> None:
        super().__init__(f"{status} {reason or ''}: {message}".replace("  ", " "))
        self.status = status
        self.message = message
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Req:
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    envelope: type[BaseModel] | None = None
    key: str | None = None
    """The field of the envelope to return (`chat`, `messages`, ...); None: the whole envelope."""

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {"params": {k: _wire(v) for k, v in self.params.items() if v is not None}}
        if self.body is not None:
            out["json"] = _jsonable(self.body)
        return out

    def read(self, status: int, payload: bytes) -> Any:
        data = _json_or_none(payload)
        if status >= 400:
            raise _error(status, data, payload)
        if self.envelope is None:
            return data
        parsed = self.envelope.model_validate(data)
        return getattr(parsed, self.key) if self.key else parsed


def _wire(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def _jsonable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    return json.loads(json.dumps(value, default=str))


def _json_or_none(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else None
    except ValueError:
        return None


def _error(status: int, data: Any, payload: bytes) -> CargoholdAPIError:
    if isinstance(data, dict) and isinstance(data.get("errorMessage"), str):
        return CargoholdAPIError(status, data["errorMessage"], data.get("reason"))
    return CargoholdAPIError(status, payload.decode("utf-8", "replace")[:500] or "no body")


def error_of(status: int, payload: bytes) -> CargoholdAPIError:
    return _error(status, _json_or_none(payload), payload)


def parse_chunk(data: dict[str, Any]) -> Chunk:
    kind = data.get("type")
    model = _CHUNKS.get(kind) if isinstance(kind, str) else None
    if model is None and isinstance(kind, str) and kind.startswith("data-"):
        model = rt.DataChunk
    if model is None:
        return data
    try:
        return model.model_validate(data)
    except ValidationError:
        return data


def sse_events(lines: Iterable[str], state: dict[str, str | None]) -> list[Chunk | None]:
    """Chunks of the SSE lines given (None for `[DONE]`); `state["id"]` follows the `id:` lines so
    a resume can pass it as `Last-Event-ID`."""
    out: list[Chunk | None] = []
    for line in lines:
        if line.startswith("id:"):
            state["id"] = line[3:].strip()
        elif line.startswith("data:"):
            text = line[5:].strip()
            if text == "[DONE]":
                out.append(None)
            elif text:
                out.append(parse_chunk(json.loads(text)))
    return out


# The requests, one function per call -------------------------------------------------------------


def create_chat(trigger: dict[str, Any] | None, name: str | None, agent_uuid: Any) -> Req:
    body = {"trigger": trigger or {"type": "app"}, "name": name, "agentUuid": agent_uuid}
    return Req(
        "POST", "/v1/ai/chats", body={k: v for k, v in body.items() if v is not None}, envelope=ChatEnvelope, key="chat"
    )


def list_chats(limit: int, offset: int, **filters: Any) -> Req:
    params = {"limit": limit, "offset": offset, **{_camel(k): v for k, v in filters.items()}}
    return Req("GET", "/v1/ai/chats/list", params=params, envelope=ChatsEnvelope, key="chats")


def get_chat(chat_uuid: Any) -> Req:
    return Req("GET", f"/v1/ai/chats/{chat_uuid}", envelope=ChatEnvelope, key="chat")


def rename_chat(chat_uuid: Any, name: str | None) -> Req:
    return Req("PUT", f"/v1/ai/chats/{chat_uuid}", body={"name": name}, envelope=ChatEnvelope, key="chat")


def delete_chat(chat_uuid: Any) -> Req:
    return Req("DELETE", f"/v1/ai/chats/{chat_uuid}")


def create_message(fields: dict[str, Any]) -> Req:
    return Req("POST", "/v1/ai/messages", body=fields, envelope=MessagePair)


def get_message(message_uuid: Any) -> Req:
    return Req("GET", f"/v1/ai/messages/{message_uuid}", envelope=MessageEnvelope, key="message")


def list_messages(chat_uuid: Any, limit: int, offset: int) -> Req:
    params = {"chatUuid": chat_uuid, "limit": limit, "offset": offset}
    return Req("GET", "/v1/ai/messages/list", params=params, envelope=MessagesEnvelope, key="messages")


def delete_message(message_uuid: Any) -> Req:
    return Req("DELETE", f"/v1/ai/messages/{message_uuid}")


def cancel_messages(uuids: list[Any]) -> Req:
    return Req("POST", "/v1/ai/messages/cancel", body={"uuids": [str(u) for u in uuids]})


def create_agent(fields: dict[str, Any]) -> Req:
    return Req("POST", "/v1/ai/agents", body=fields, envelope=AgentEnvelope, key="agent")


def list_agents() -> Req:
    return Req("GET", "/v1/ai/agents/list", envelope=AgentsEnvelope, key="agents")


def get_agent(agent_uuid: Any) -> Req:
    return Req("GET", f"/v1/ai/agents/{agent_uuid}", envelope=AgentEnvelope, key="agent")


def update_agent(agent_uuid: Any, fields: dict[str, Any]) -> Req:
    return Req("PUT", f"/v1/ai/agents/{agent_uuid}", body=fields, envelope=AgentEnvelope, key="agent")


def delete_agent(agent_uuid: Any) -> Req:
    return Req("DELETE", f"/v1/ai/agents/{agent_uuid}")


def get_draft(agent_uuid: Any) -> Req:
    return Req(
        "GET", "/v1/ai/releases/getDraft", params={"agentUuid": agent_uuid}, envelope=ReleaseEnvelope, key="release"
    )


def update_draft(agent_uuid: Any, fields: dict[str, Any]) -> Req:
    body = {"agentUuid": str(agent_uuid), **fields}
    return Req("PUT", "/v1/ai/releases/updateDraft", body=body, envelope=ReleaseEnvelope, key="release")


def deploy_draft(agent_uuid: Any, fields: dict[str, Any]) -> Req:
    body = {"agentUuid": str(agent_uuid), **fields}
    return Req("POST", "/v1/ai/releases/deployDraft", body=body, envelope=ReleaseEnvelope, key="release")


def get_release(release_uuid: Any) -> Req:
    return Req("GET", f"/v1/ai/releases/{release_uuid}", envelope=ReleaseEnvelope, key="release")


def list_releases(agent_uuid: Any) -> Req:
    return Req(
        "GET", "/v1/ai/releases/list", params={"agentUuid": agent_uuid}, envelope=ReleasesEnvelope, key="releases"
    )


def create_tool(fields: dict[str, Any]) -> Req:
    return Req("POST", "/v1/tools", body=fields, envelope=ToolCreated)


def list_tools() -> Req:
    return Req("GET", "/v1/tools/list", envelope=ToolsEnvelope, key="tools")


def get_tool(tool_uuid: Any) -> Req:
    return Req("GET", f"/v1/tools/{tool_uuid}", envelope=ToolEnvelope, key="tool")


def update_tool(tool_uuid: Any, fields: dict[str, Any]) -> Req:
    return Req("PUT", f"/v1/tools/{tool_uuid}", body=fields, envelope=ToolEnvelope, key="tool")


def delete_tool(tool_uuid: Any) -> Req:
    return Req("DELETE", f"/v1/tools/{tool_uuid}")


def get_tool_run(run_uuid: Any) -> Req:
    return Req("GET", f"/v1/tools/runs/{run_uuid}", envelope=ToolRunEnvelope, key="run")


def stream_body(chat_uuid: Any, text: str | None, parts: list[dict[str, Any]] | None, fields: dict[str, Any]) -> Any:
    return {"chatUuid": str(chat_uuid or uuid.uuid4()), **message_fields(text, parts, fields)}


def message_fields(text: str | None, parts: list[dict[str, Any]] | None, fields: dict[str, Any]) -> dict[str, Any]:
    if parts is None:
        if text is None:
            raise ValueError("give `text` or `parts`")
        parts = [{"type": "text", "text": text}]
    return _jsonable({"parts": parts, **fields})


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


class Calls:
    """The request builders above, as one namespace for the two clients."""

    create_chat = staticmethod(create_chat)
    list_chats = staticmethod(list_chats)
    get_chat = staticmethod(get_chat)
    rename_chat = staticmethod(rename_chat)
    delete_chat = staticmethod(delete_chat)
    create_message = staticmethod(create_message)
    get_message = staticmethod(get_message)
    list_messages = staticmethod(list_messages)
    delete_message = staticmethod(delete_message)
    cancel_messages = staticmethod(cancel_messages)
    create_agent = staticmethod(create_agent)
    list_agents = staticmethod(list_agents)
    get_agent = staticmethod(get_agent)
    update_agent = staticmethod(update_agent)
    delete_agent = staticmethod(delete_agent)
    get_draft = staticmethod(get_draft)
    update_draft = staticmethod(update_draft)
    deploy_draft = staticmethod(deploy_draft)
    get_release = staticmethod(get_release)
    list_releases = staticmethod(list_releases)
    create_tool = staticmethod(create_tool)
    list_tools = staticmethod(list_tools)
    get_tool = staticmethod(get_tool)
    update_tool = staticmethod(update_tool)
    delete_tool = staticmethod(delete_tool)
    get_tool_run = staticmethod(get_tool_run)
    stream_body = staticmethod(stream_body)
    message_fields = staticmethod(message_fields)
