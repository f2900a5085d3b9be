"""Token usage -> the message's `usage` with credits, from the per-model price table in settings."""

from __future__ import annotations

from typing import Any

from pydantic_ai.usage import RunUsage

from ..settings import ModelPrice

__all__ = ["credits_for", "usage_record"]


def credits_for(usage: RunUsage, slug: str, prices: dict[str, ModelPrice]) -> float:
    price = prices.get(slug) or prices.get("*") or ModelPrice()
    credits = (usage.input_tokens * price.input + usage.output_tokens * price.output) / 1000
    return round(credits, 6)


def usage_record(usage: RunUsage, slug: str, prices: dict[str, ModelPrice]) -> dict[str, Any]:
    """The stored/wire `usage` object (camelCase, as the API returns it)."""
    details = usage.details or {}
    return {
        "inputTokensCount": usage.input_tokens,
        "outputTokensCount": usage.output_tokens,
        "tokensUsedCount": usage.input_tokens + usage.output_tokens,
        "cacheReadTokensCount": usage.cache_read_tokens,
        "cacheWriteTokensCount": usage.cache_write_tokens,
        "reasoningTokensCount": int(details.get("reasoning_tokens", 0)),
        "creditsUsedCount": credits_for(usage, slug, prices),
        "languageModelSlug": slug,
        "connectorUuid": None,
        "requestsCount": usage.requests,
    }
