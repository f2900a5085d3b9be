"""The built-in `offline` model: no key, no network, deterministic. It calls a tool when the
user names one, then answers with the result, so a fresh install shows a real multi-step turn.

Unnamed, it still picks the built-in tools a question calls for: `calculate` for arithmetic
("what is 6 times 7?"), `current_time` for the time or the date ("what time is it?"). Its text
answers use the chat's history: it can say what the user said earlier, and a name they gave.

Asked for a structured output (follow-ups, the prompt helpers), it answers from the request's
facts (`runtime/offline_tasks.py`)."""

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

from .offline_tasks import structured_answer

__all__ = ["offline_model"]

_ARITHMETIC = re.compile(r"[\d.(][\d.\s+\-*/%()^]*[\d.)]|\d")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# Arithmetic in words, as people ask it: "6 times 7", "10 divided by 4", "2 to the power of 8".
_SPOKEN_OPERATORS = [
    (re.compile(r"\s*\bto the power of\b\s*", re.I), "**"),
    (re.compile(r"\s*\b(?:multiplied by|times)\b\s*", re.I), "*"),
    (re.compile(r"\s*\b(?:divided by|over)\b\s*", re.I), "/"),
    (re.compile(r"\s*\bplus\b\s*", re.I), "+"),
    (re.compile(r"\s*\bminus\b\s*", re.I), "-"),
    (re.compile(r"(?<=\d)\s*[x\u00d7]\s*(?=\d)"), "*"),
    (re.compile(r"\s*÷\s*"), "/"),
]
_SIGNED_ARITHMETIC = re.compile(r"-?[\d.(][\d.\s+\-*/%()^]*[\d.)]")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_OPERATION = re.compile(r"[\d)]\s*(?:\*\*|[+\-*/%^])\s*[\d(.-]")
_TIME_QUESTION = re.compile(
    r"\b(?:what(?:'s|\u2019s| is)? (?:the )?(?:current )?(?:time|date|day)|what day is|time is it|"
    r"current (?:time|date)|today'?s date|date today|what year is)\b",
    re.I,
)
_RECALL = re.compile(
    r"\b(?:what did i (?:say|ask|write|tell you)|what i (?:said|asked|wrote)|repeat (?:what|my)|"
    r"my (?:first|last|previous|earlier) (?:message|question)|said (?:earlier|before))\b",
    re.I,
)
_NAME_GIVEN = re.compile(r"\b(?:my name is|i am called|call me)\s+([A-Z][\w'-]{0,40})", re.I)
_NAME_ASKED = re.compile(r"\b(?:what(?:'s|\u2019s| is) my name|who am i|do you know my name)\b", re.I)


def _prompt_text(message: ModelRequest) -> str | None:
    texts = []
    for part in message.parts:
        if isinstance(part, UserPromptPart):
            if isinstance(part.content, str):
                texts.append(part.content)
            else:
                texts.extend(c for c in part.content if isinstance(c, str))
    return "\n".join(texts) if texts else None


def _spoken(text: str) -> str:
    for pattern, operator in _SPOKEN_OPERATORS:
        text = pattern.sub(operator, text)
    return text


def _expression(text: str) -> str | None:
    """The arithmetic the text asks for (words turned into operators), when it holds an operation."""
    found = [
        e.strip() for e in _SIGNED_ARITHMETIC.findall(_spoken(text)) if _OPERATION.search(e) and not _DATE.fullmatch(e)
    ]
    return max(found, key=len) if found else None


def _picked_tool(text: str, tools: list[ToolDefinition], call_id: str) -> ToolCallPart | None:
    """The built-in tool a question calls for, though it names none: arithmetic, or the time."""
    names = {tool.name for tool in tools}
    if "calculate" in names and (expression := _expression(text)):
        return ToolCallPart("calculate", json.dumps({"expression": expression}), tool_call_id=call_id)
    if "current_time" in names and _TIME_QUESTION.search(text):
        return ToolCallPart("current_time", "{}", tool_call_id=call_id)
    return None


def _user_texts(messages: list[ModelMessage]) -> list[str]:
    """What the user said in this chat, oldest first (the current prompt last)."""
    return [text for m in messages if isinstance(m, ModelRequest) and (text := _prompt_text(m)) is not None]


def _quote(text: str) -> str:
    text = text.strip().replace("\n", " ")
    return text if len(text) <= 80 else text[:80] + "…"


def _from_history(prompt: str, earlier: list[str]) -> str | None:
    """An answer about the chat so far, when the user asks for one."""
    if _NAME_ASKED.search(prompt):
        names = [m.group(1) for text in earlier if (m := _NAME_GIVEN.search(text))]
        return (
            f"Your name is {names[-1]}: you told me earlier in this chat."
            if names
            else ("You have not told me your name in this chat.")
        )
    if _RECALL.search(prompt):
        if not earlier:
            return "This is your first message in this chat: you said nothing before it."
        said = ", then ".join(f"“{_quote(text)}”" for text in earlier[-5:])
        first = "" if len(earlier) <= 5 else f"Your first message was “{_quote(earlier[0])}”. "
        return f"{first}Earlier in this chat you said: {said}."
    return None


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
                found = _expression(text) or max(_ARITHMETIC.findall(text), key=len, default=text)
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
    if info.output_tools and not info.allow_text_output:  # a structured output is asked for
        output = info.output_tools[0]
        request = (_user_texts(messages) or [""])[-1]
        args = structured_answer(output.name, request) or _arguments(output, request)
        return [ToolCallPart(output.name, json.dumps(args), tool_call_id="offline_output")]
    last = messages[-1] if messages else None
    if isinstance(last, ModelRequest) and (summary := _result_sentence(last)):
        return summary
    *earlier, prompt = _user_texts(messages) or [""]
    tools = info.function_tools
    named = _named_tools(prompt, tools) if tools else []
    n = sum(isinstance(p, ToolCallPart) for m in messages if isinstance(m, ModelResponse) for p in m.parts)
    if named:
        return [
            ToolCallPart(tool.name, json.dumps(_arguments(tool, prompt)), tool_call_id=f"offline_call_{n + i + 1}")
            for i, tool in enumerate(named)
        ]
    if (answer := _from_history(prompt, earlier)) is not None:
        return answer
    if picked := _picked_tool(prompt, tools, f"offline_call_{n + 1}"):
        return [picked]
    reply = f"You said: “{_quote(prompt)}”. I am cargohold's built-in offline model: I need no key and no network. "
    if earlier:
        reply += f"Before that you said “{_quote(earlier[-1])}” ({len(earlier)} earlier messages from you). "
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
