"""The OpenAI SDK client every OpenAI-compatible model of a turn runs through (server keys and
connectors alike): the SDK's own `AsyncOpenAI`, with one change on the streaming path.

The SDK builds each streamed `ChatCompletionChunk` with its pure-Python `construct_type` (about
130 us a chunk on the project's machine, 40-50 chunks a short reply); pydantic-core validates the
same dict into the same model in about 7 us. A chunk that does not validate (an OpenAI-compatible
server that leaves out `created`, or sends a `finish_reason` the SDK does not list) is built the
SDK's way, as before, so nothing that worked is refused. Everything else (requests, retries,
errors, the SSE decoding, pydantic-ai's `OpenAIChatModel` on top) is the SDK's and pydantic-ai's
code unchanged. The one visible difference: extra keys of a validated chunk count in
`model_fields_set` (they are in `model_extra` either way).

Imported on first use, like the SDK (it takes seconds to import).
"""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionChunk

__all__ = ["LeanAsyncOpenAI"]

_T = TypeVar("_T")


class LeanAsyncOpenAI(AsyncOpenAI):
    def _process_response_data(self, *, data: object, cast_to: type[_T], response: Any) -> _T:
        if cast_to is ChatCompletionChunk and type(data) is dict and not self._strict_response_validation:
            try:
                return ChatCompletionChunk.model_validate(data)  # type: ignore[return-value]
            except pydantic.ValidationError:
                pass  # the SDK's lenient build below
        return super()._process_response_data(data=data, cast_to=cast_to, response=response)
