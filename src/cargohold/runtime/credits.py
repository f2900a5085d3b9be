"""Token usage -> the message's `usage` with credits, from the per-model price table in settings.

Credits are decimals with `CREDITS_DECIMALS` (6) places, rounded half-up wherever a usage record is
built or added to, so a sum never shows float noise (`0.0013800000000000002`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic_ai.usage import RunUsage

from ..settings import ModelPrice

__all__ = ["CREDITS_DECIMALS", "add_credits", "add_usage", "credits_for", "round_credits", "usage_record"]

CREDITS_DECIMALS = 6
_QUANTUM = Decimal(1).scaleb(-CREDITS_DECIMALS)


def _quantized(value: Decimal) -> float:
    try:
        return float(value.quantize(_QUANTUM, rounding=ROUND_HALF_UP))
    except InvalidOperation:  # too many digits to hold 6 places (1e300): already past any precision
        return float(value)


def _decimal(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def round_credits(value: float) -> float:
    """`value` to `CREDITS_DECIMALS` places, from its shortest decimal form (so 0.0000025 is 0.000003)."""
    return _quantized(_decimal(value))


def add_credits(*values: float) -> float:
    """A sum of credits, added as decimals: `add_credits(0.00092, 0.00046) == 0.00138`."""
    return _quantized(sum((_decimal(v) for v in values), Decimal(0)))


def credits_for(usage: RunUsage, slug: str, prices: dict[str, ModelPrice]) -> float:
    price = prices.get(slug) or prices.get("*") or ModelPrice()
    credits = (usage.input_tokens * price.input + usage.output_tokens * price.output) / 1000
    return round_credits(credits)


def usage_record(
    usage: RunUsage, slug: str, prices: dict[str, ModelPrice], *, unreported_output_chars: int = 0
) -> dict[str, Any]:
    """The stored/wire `usage` object (camelCase, as the API returns it).

    A model call cut off mid-stream (cancel, error, crash) never reports its usage, yet the
    provider bills what it streamed; `unreported_output_chars` adds an estimate of those output
    tokens (4 characters a token) and flags the record `isEstimated`."""
    estimated = -(-unreported_output_chars // 4)
    if estimated:
        usage = RunUsage(
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens + estimated,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            requests=usage.requests,
            details=dict(usage.details or {}),
        )
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
        "isEstimated": bool(estimated),
    }


_SUMMED = (
    "inputTokensCount",
    "outputTokensCount",
    "tokensUsedCount",
    "cacheReadTokensCount",
    "cacheWriteTokensCount",
    "reasoningTokensCount",
    "requestsCount",
)


def add_usage(record: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, Any]:
    """A message's usage with its sub-agents' usage (tokens, requests and credits) added."""
    if not others:
        return record
    total = dict(record)
    for other in others:
        for key in _SUMMED:
            total[key] = total.get(key, 0) + other.get(key, 0)
        total["creditsUsedCount"] = add_credits(total["creditsUsedCount"], other.get("creditsUsedCount", 0.0))
        total["isEstimated"] = bool(total.get("isEstimated")) or bool(other.get("isEstimated"))
    return total
