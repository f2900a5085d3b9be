"""What the offline model answers when a structured output is asked of it (`runtime/offline.py`):
follow-ups (`suggested_actions`), a better prompt, a prompt's evaluation, a JSON Schema. Each
request ends with its facts as one JSON line (`runtime/prompts.with_facts`); the answers are
deterministic, and useful enough to try the routes with no key and no network."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["structured_answer"]

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_BACKTICKED = re.compile(r"`([A-Za-z_][\w-]{1,63})`")
_FIELDS_AFTER = re.compile(
    r"\b(?:fields?|properties|keys|columns|attributes|with|extract|return|include|containing)\b\s*:?\s*(?:the\s+)?"
    r"(.+?)(?:\s+(?:from|of|in|for)\s+(?:the|a|an|each|every)\b|[.;\n]|$)",
    re.I,
)
_SPLIT = re.compile(r"\s*(?:,|\band\b|\bor\b|/)\s*", re.I)
_INTEGER = re.compile(r"(?:^|_)(?:age|count|number|quantity|year|rank|size|total|employees|seats)$")
_NUMBER = re.compile(r"(?:^|_)(?:price|amount|score|revenue|rate|ratio|percent|percentage|cost)$")
_BOOLEAN = re.compile(r"^(?:is|has|can|should)_")
_ARRAY = re.compile(r"(?:^|_)(?:tags|list|items|emails|names|skills|keywords)$")


def _facts(text: str) -> dict[str, Any]:
    start = text.rfind("\n{")
    try:
        found = json.loads(text[start + 1 :] if start >= 0 else text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split()).rstrip("?.! ")
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _suggestions(facts: dict[str, Any]) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for action in facts.get("actions") or []:
        if isinstance(action, dict) and isinstance(action.get("slug"), str):
            label = action.get("name") or action["slug"]
            out.append({"text": f"Use {label} for this", "actions": [action["slug"]]})
        if len(out) == 2:
            break
    question = str(facts.get("question") or "").strip()
    if question:
        out.append({"text": f"Tell me more about “{_short(question)}”", "actions": []})
    out.append({"text": "Summarize that in three bullet points", "actions": []})
    out.append({"text": "What should I do next?", "actions": []})
    return {"suggestions": out[:5]}


def _optimized(prompt: str) -> str:
    sentences = [s.strip() for s in _SENTENCE.split(prompt.strip()) if s.strip()]
    if not sentences:
        return "# Role\nYou are a helpful assistant.\n\n# Output\n- Answer concisely; say so when you do not know."
    role, *rest = sentences
    lines = ["# Role", role, "", "# Instructions"]
    lines += [f"- {s}" for s in rest] or ["- Follow the user's request precisely."]
    lines += ["", "# Output", "- Answer concisely and accurately; say so when you do not know or cannot act."]
    return "\n".join(lines)


def _evaluation(facts: dict[str, Any]) -> dict[str, Any]:
    prompt = str(facts.get("prompt") or "")
    tools = {str(t.get("slug")) for t in facts.get("tools") or [] if isinstance(t, dict) and t.get("slug")}
    problems = []
    if not prompt.strip():
        problems.append("The prompt is empty: say what the agent is for and what it should do.")
    elif len(prompt.split()) < 4:
        problems.append("The prompt is too short to guide the agent: say what it is for and what it should do.")
    missing = [name for name in dict.fromkeys(_BACKTICKED.findall(prompt)) if name not in tools]
    if missing:
        available = ", ".join(f"`{t}`" for t in sorted(tools)) or "none"
        problems.append(
            f"The prompt refers to {', '.join(f'`{m}`' for m in missing)}, which the agent does not have "
            f"(its tools: {available})."
        )
    return {"problems": problems, "prompt": None if problems else _optimized(prompt)}


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def _property(name: str) -> dict[str, Any]:
    if _BOOLEAN.search(name):
        return {"type": "boolean"}
    if _INTEGER.search(name):
        return {"type": "integer"}
    if _NUMBER.search(name):
        return {"type": "number"}
    if _ARRAY.search(name):
        return {"type": "array", "items": {"type": "string"}}
    return {"type": "string"}


def _json_schema(facts: dict[str, Any]) -> dict[str, Any]:
    prompt = str(facts.get("prompt") or "")
    names = [_snake(n) for n in _BACKTICKED.findall(prompt)]
    if not names and (match := _FIELDS_AFTER.search(prompt)):
        names = [_snake(re.sub(r"^(?:the|a|an|its|their)\s+", "", n, flags=re.I)) for n in _SPLIT.split(match.group(1))]
        names = [n for n in names if 0 < n.count("_") + 1 <= 3]
    names = [n for n in dict.fromkeys(names) if n][:30] or ["answer"]
    properties = {n: {**_property(n), "description": f"The {n.replace('_', ' ')}."} for n in names}
    schema = {"type": "object", "properties": properties, "required": names, "additionalProperties": False}
    return {"json_schema": json.dumps(schema)}


def structured_answer(tool_name: str, request_text: str) -> dict[str, Any] | None:
    """The arguments of the output tool `tool_name` for this request, or None when not known."""
    facts = _facts(request_text)
    match tool_name:
        case "suggested_actions":
            return _suggestions(facts)
        case "optimized_prompt":
            return {"prompt": _optimized(str(facts.get("prompt") or ""))}
        case "prompt_evaluation":
            return _evaluation(facts)
        case "json_schema":
            return _json_schema(facts)
    return None
