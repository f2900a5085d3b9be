"""The built-in `offline` model: no key, no network, deterministic. It calls a tool when the
user names one, then answers with the result, so a fresh install shows a real multi-step turn."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel
from pydantic_ai.tools import ToolDefinition

__all__ = ["offline_model"]

_ARITHMETIC = re.compile(r"[\d.(][\d.\s+\-*/%()^]*[\d.)]|\d")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def _prompt_text(message: ModelRequest) -> str | None:
    texts = []
    for part in message.parts:
        if isinstance(part, UserPromptPart):
            if isinstance(part.content, str):
                texts.append(part.content)
            else:
                texts.extend(c for c in part.content if isinstance(c, str))
    return "\n".join(texts) if texts else None


def _named_tools(text: str, tools: list[ToolDefinition]) -> list[ToolDefinition]:
    lowered = text.lower()
    named = []
    for tool in tools:
        spellings = {tool.name.lower(), tool.name.lower().replace("_", " ")}
        if any(re.search(rf"\b{re.escape(s)}\b", lowered) for s in spellings):
            named.append(tool)
    return named


def _arguments(tool: ToolDefinition, text: str) -> dict[str, Any]:
    schema = tool.parameters_json_schema or {}
    properties: dict[str, Any] = schema.get("properties", {})
    args: dict[str, Any] = {}
    for name in schema.get("required", []):
        spec = properties.get(name, {})
        kind = spec.get("type")
        if "enum" in spec:
            args[name] = spec["enum"][0]
        elif kind == "string":
            if "expression" in name.lower():
                found = max(_ARITHMETIC.findall(text), key=len, default=text)
                args[name] = found.strip()
            else:
                args[name] = text
        elif kind in ("integer", "number"):
            match = _NUMBER.search(text)
            value = float(match.group()) if match else 0
            args[name] = int(value) if kind == "integer" else value
        elif kind == "boolean":
            args[name] = False
        elif kind == "array":
            args[name] = []
        else:
            args[name] = {}
    return args


def _describe(content: Any) -> str:
    text = content if isinstance(content, str) else json.dumps(content, separators=(",", ":"), default=str)
    return text if len(text) <= 300 else text[:300] + "…"


def _result_sentence(message: ModelRequest) -> str | None:
    sentences = []
    for part in message.parts:
        if isinstance(part, ToolReturnPart):
            content: Any = part.content
            if getattr(part, "outcome", "success") != "success":
                sentences.append(f"I called `{part.tool_name}` but it failed: {_describe(content)}")
            elif isinstance(content, dict) and "result" in content:
                sentences.append(f"I called `{part.tool_name}` and the result is {content['result']}.")
            else:
                sentences.append(f"I called `{part.tool_name}` and it returned {_describe(content)}.")
        elif isinstance(part, RetryPromptPart) and part.tool_name:
            error = part.content if isinstance(part.content, str) else _describe(part.content)
            sentences.append(f"I called `{part.tool_name}` but it failed: {_describe(error)}")
    return " ".join(sentences) if sentences else None


def _plan(messages: list[ModelMessage], info: AgentInfo) -> str | list[ToolCallPart]:
    """What to say next: text, or the tool calls to make."""
    last = messages[-1] if messages else None
    if isinstance(last, ModelRequest) and (summary := _result_sentence(last)):
        return summary
    prompt = ""
    for message in reversed(messages):
        if isinstance(message, ModelRequest) and (text := _prompt_text(message)) is not None:
            prompt = text
            break
    tools = info.function_tools
    named = _named_tools(prompt, tools) if tools else []
    if named:
        n = sum(isinstance(p, ToolCallPart) for m in messages if isinstance(m, ModelResponse) for p in m.parts)
        return [
            ToolCallPart(tool.name, json.dumps(_arguments(tool, prompt)), tool_call_id=f"offline_call_{n + i + 1}")
            for i, tool in enumerate(named)
        ]
    quote = prompt.strip().replace("\n", " ")
    quote = quote if len(quote) <= 80 else quote[:80] + "…"
    reply = f"You said: “{quote}”. I am cargohold's built-in offline model: I need no key and no network. "
    if tools:
        names = ", ".join(f"`{t.name}`" for t in tools)
        example = tools[0].name
        reply += f"I can call these tools in this turn: {names}. Name one, for example ask me to use `{example}`."
    else:
        reply += "No tools are enabled for this turn, so I can only answer in text."
    return reply


def _words(text: str) -> list[str]:
    return re.findall(r"\S+\s*", text) or [text]


def offline_model(token_delay: float = 0.0) -> FunctionModel:
    def respond(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        plan = _plan(messages, info)
        return ModelResponse(parts=[TextPart(plan)] if isinstance(plan, str) else list(plan))

    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
        plan = _plan(messages, info)
        if isinstance(plan, str):
            for word in _words(plan):
                if token_delay:
                    await asyncio.sleep(token_delay)
                yield word
            return
        for index, call in enumerate(plan):
            args = call.args_as_json_str()
            half = max(1, len(args) // 2)
            yield {index: DeltaToolCall(name=call.tool_name, json_args=args[:half], tool_call_id=call.tool_call_id)}
            if token_delay:
                await asyncio.sleep(token_delay)
            yield {index: DeltaToolCall(json_args=args[half:])}

    return FunctionModel(respond, stream_function=stream, model_name="offline")
