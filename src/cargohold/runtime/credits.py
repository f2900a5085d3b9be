"""Token usage -> the message's `usage` with credits, from the per-model price table in settings.

Credits are decimals with `CREDITS_DECIMALS` (6) places, rounded half-up wherever a usage record is
built or added to, so a sum never shows float noise (`0.0013800000000000002`)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel
from pydantic_ai.usage import RunUsage

from ..settings import ModelPrice

__all__ = [
    "CREDITS_DECIMALS",
    "UsageRecord",
    "add_credits",
    "add_usage",
    "credits_for",
    "round_credits",
    "usage_record",
]

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


class UsageRecord(BaseModel):
    """A message's `usage`, typed: what is stored on the message and sent as the `finish` chunk's
    `messageMetadata.usage` (camelCase on the wire, as Cargo's)."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, frozen=True, extra="ignore")

    input_tokens_count: int = 0
    output_tokens_count: int = 0
    tokens_used_count: int = 0
    cache_read_tokens_count: int = 0
    cache_write_tokens_count: int = 0
    reasoning_tokens_count: int = 0
    credits_used_count: float = 0.0
    language_model_slug: str | None = None
    connector_uuid: str | None = None
    requests_count: int = 0
    is_estimated: bool = False

    @classmethod
    def of_stored(cls, value: Any) -> UsageRecord:
        """The record a row holds (written by any earlier version: missing fields are 0)."""
        return cls.model_validate(value) if isinstance(value, dict) else cls()

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, mode="json")


def usage_record(
    usage: RunUsage,
    slug: str,
    prices: dict[str, ModelPrice],
    *,
    unreported_output_chars: int = 0,
    connector_uuid: object | None = None,
) -> UsageRecord:
    """The message's `usage` for a run's `RunUsage`, with credits from the price table.

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
    return UsageRecord(
        input_tokens_count=usage.input_tokens,
        output_tokens_count=usage.output_tokens,
        tokens_used_count=usage.input_tokens + usage.output_tokens,
        cache_read_tokens_count=usage.cache_read_tokens,
        cache_write_tokens_count=usage.cache_write_tokens,
        reasoning_tokens_count=int(details.get("reasoning_tokens", 0)),
        credits_used_count=credits_for(usage, slug, prices),
        language_model_slug=slug,
        connector_uuid=str(connector_uuid) if connector_uuid is not None else None,
        requests_count=usage.requests,
        is_estimated=bool(estimated),
    )


_SUMMED = (
    "input_tokens_count",
    "output_tokens_count",
    "tokens_used_count",
    "cache_read_tokens_count",
    "cache_write_tokens_count",
    "reasoning_tokens_count",
    "requests_count",
)


def add_usage(record: UsageRecord, others: list[UsageRecord]) -> UsageRecord:
    """A message's usage with its sub-agents' usage (tokens, requests and credits) added."""
    if not others:
        return record
    totals = {key: getattr(record, key) + sum(getattr(o, key) for o in others) for key in _SUMMED}
    return record.model_copy(
        update={
            **totals,
            "credits_used_count": add_credits(record.credits_used_count, *(o.credits_used_count for o in others)),
            "is_estimated": record.is_estimated or any(o.is_estimated for o in others),
        }
    )
