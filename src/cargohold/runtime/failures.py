"""A failure as one sentence for a person: what the stream's `error` chunk and the stored
`errorMessage` say. Never a traceback or a validation dump (which may also echo user input)."""

from __future__ import annotations

from pydantic import ValidationError
from pydantic_ai.exceptions import (
    ModelConnectionError,
    ModelHTTPError,
    ModelRequestTimeout,
    ModelTimeoutError,
    UnexpectedModelBehavior,
    UsageLimitExceeded,
)

__all__ = ["describe_failure"]

_MAX = 500


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= _MAX else line[:_MAX] + "..."


def _provider_message(body: object) -> str:
    """The `message` of a provider's error body (OpenAI: `{error: {message}}`, Anthropic:
    `{error: {message}}` or `{message}`), else the body as text."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return inner["message"]
        if isinstance(inner, str):
            return inner
    return "" if body is None else str(body)


def describe_failure(error: BaseException) -> str:
    """A provider SDK may say no more than `ReadTimeout` (Anthropic, mid-stream) or `Connection
    error.` (OpenAI), so the kind of failure is named first."""
    detail = _first_line(str(error)) or type(error).__name__
    if isinstance(error, ModelTimeoutError | ModelRequestTimeout):
        return f"The model timed out (CARGOHOLD_MODEL_REQUEST_TIMEOUT): {detail}"
    if isinstance(error, ModelConnectionError):
        return f"The connection to the model was lost: {detail}"
    if isinstance(error, ModelHTTPError):
        said = _first_line(_provider_message(error.body))
        return f"The model provider answered HTTP {error.status_code} for model {error.model_name}" + (
            f": {said}" if said else "."
        )
    if isinstance(error, UsageLimitExceeded):
        return f"The turn hit its limit: {detail}"
    if isinstance(error, ValidationError):
        return f"Data could not be read ({error.error_count()} validation errors in {error.title})."
    if isinstance(error, UnexpectedModelBehavior):
        return f"The model answered in a way that could not be used: {detail}"
    return f"{type(error).__name__}: {detail}" if detail != type(error).__name__ else detail
