"""The OpenAI SDK client every OpenAI-compatible model of a turn runs through (server keys and
connectors alike): the SDK's own `AsyncOpenAI`, with two changes on the chat completions path.

- **Streamed chunks.** The SDK builds each `ChatCompletionChunk` with its pure-Python
  `construct_type` (about 130 us a chunk on the project's machine, 40-50 chunks a short reply);
  pydantic-core validates the same dict into the same model in about 7 us. A chunk that does not
  validate (an OpenAI-compatible server that leaves out `created`, or sends a `finish_reason` the
  SDK does not list) is built the SDK's way, as before, so nothing that worked is refused. The one
  visible difference: extra keys of a validated chunk count in `model_fields_set` (they are in
  `model_extra` either way).
- **The request body.** `chat.completions.create` runs its arguments through the SDK's
  `async_maybe_transform`, which walks the `CompletionCreateParams` TypedDicts to apply property
  aliases and formats (about 0.5 ms a request here, before the request is sent). The chat
  completion params declare none, so for arguments that are plain JSON values (dicts with string
  keys, lists, strings, numbers, booleans, None: what pydantic-ai's `OpenAIChatModel` passes) the
  transform returns what it was given, less the unset (`omit`/`NOT_GIVEN`) ones.
  `LeanAsyncCompletions.create` sends that body itself through the SDK's `_post`, with the SDK's
  request options; any other argument (a pydantic model, an iterator, a name the SDK does not
  know) goes through the SDK's `create` unchanged.

Everything else (retries, errors, the SSE decoding, pydantic-ai on top) is the SDK's and
pydantic-ai's code unchanged. Imported on first use, like the SDK (it takes seconds to import).
"""

from __future__ import annotations

import inspect
from typing import Any, TypeVar

import pydantic
from openai import AsyncOpenAI, AsyncStream
from openai._base_client import make_request_options
from openai._compat import cached_property
from openai._types import not_given
from openai._utils import is_given
from openai.resources.chat import AsyncChat
from openai.resources.chat.completions import AsyncCompletions
from openai.resources.chat.completions.completions import validate_response_format
from openai.types.chat import ChatCompletion, ChatCompletionChunk

__all__ = ["LeanAsyncCompletions", "LeanAsyncOpenAI"]

_T = TypeVar("_T")
_REQUEST_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")
_CREATE_ARGS = frozenset(inspect.signature(AsyncCompletions.create).parameters) - {"self"}
_SCALARS = (str, int, float, bool, type(None))


def _plain_json(value: object) -> bool:
    """A value the SDK's transform gives back as it is: JSON types only, all the way down."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())  # type: ignore[attr-defined]
    if kind is list:
        return all(_plain_json(v) for v in value)  # type: ignore[attr-defined]
    return kind in _SCALARS


class LeanAsyncCompletions(AsyncCompletions):
    async def create(self, **kwargs: Any) -> Any:
        body = {k: v for k, v in kwargs.items() if k not in _REQUEST_OPTIONS and is_given(v)}
        if not kwargs.keys() <= _CREATE_ARGS or not _plain_json(body):
            return await super().create(**kwargs)
        validate_response_format(body.get("response_format", not_given))
        options = make_request_options(
            extra_headers=kwargs.get("extra_headers"),
            extra_query=kwargs.get("extra_query"),
            extra_body=kwargs.get("extra_body"),
            timeout=kwargs.get("timeout", not_given),
            security={"bearer_auth": True},
        )
        return await self._post(
            "/chat/completions",
            body=body,
            options=options,
            cast_to=ChatCompletion,
            stream=body.get("stream") or False,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )


class LeanAsyncChat(AsyncChat):
    @cached_property
    def completions(self) -> AsyncCompletions:
        return LeanAsyncCompletions(self._client)


class LeanAsyncOpenAI(AsyncOpenAI):
    @cached_property
    def chat(self) -> AsyncChat:
        return LeanAsyncChat(self)

    def _process_response_data(self, *, data: object, cast_to: type[_T], response: Any) -> _T:
        if cast_to is ChatCompletionChunk and type(data) is dict and not self._strict_response_validation:
            try:
                return ChatCompletionChunk.model_validate(data)  # type: ignore[return-value]
            except pydantic.ValidationError:
                pass  # the SDK's lenient build below
        return super()._process_response_data(data=data, cast_to=cast_to, response=response)
