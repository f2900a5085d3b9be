"""Model providers reached with a connector's credentials: one SDK client per connector (rebuilt
when the connector changes), its model list, and what is known of each model (limits from the
provider's own list, `genai-prices` and pydantic-ai's model profiles).

Every connection goes through the outbound guard (`outbound.guarded_client2`): a connector's base
URL on a private address is refused unless the operator allows it.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ..settings import ModelPrice
from .outbound import AllowList, OutboundRefused, check_url, guarded_client2, refusal_of

if TYPE_CHECKING:
    from pydantic_ai.models import Model

__all__ = [
    "PROVIDER_INTEGRATIONS",
    "ProviderCheckFailed",
    "ProviderClients",
    "ProviderCredentials",
    "ProviderModel",
    "describe_model",
    "sdk_ready",
]

log = logging.getLogger(__name__)

PROVIDER_INTEGRATIONS = ("openai", "anthropic", "gemini", "openaiCompatible")
_GENAI_PROVIDER = {"openai": "openai", "anthropic": "anthropic", "gemini": "google"}
_OPENAI = ("openai", "pydantic_ai.models.openai", "pydantic_ai.providers.openai")
_SDK_MODULES = {
    "openai": _OPENAI,
    "openaiCompatible": _OPENAI,
    "anthropic": ("anthropic", "pydantic_ai.models.anthropic", "pydantic_ai.providers.anthropic"),
    "gemini": ("google.genai", "pydantic_ai.models.google", "pydantic_ai.providers.google"),
}
_imported: set[str] = set()


async def sdk_ready(integration: str) -> None:
    """Import a provider's SDK off the event loop: each takes seconds to import (google-genai and
    anthropic most), which would stall every request of the server meanwhile."""
    if integration in _imported or integration not in _SDK_MODULES:
        return
    await asyncio.to_thread(lambda: [importlib.import_module(m) for m in _SDK_MODULES[integration]])
    _imported.add(integration)


@dataclass(frozen=True)
class ProviderCredentials:
    """A connector's credentials as a turn needs them. `api_key` never shows in a repr or a log."""

    connector_uuid: UUID
    integration: str
    api_key: str | None = field(repr=False)
    base_url: str | None = None
    version: str = ""
    """Changes whenever the connector changes: a cached client of another version is rebuilt."""
    models: tuple[str, ...] = ()
    """`openaiCompatible`: the models to offer when the server lists none."""
    prices: Mapping[str, ModelPrice] = field(default_factory=dict)
    """The connector's own price table (credits per 1,000 tokens by model slug), over the server's."""


@dataclass(frozen=True)
class ProviderModel:
    slug: str
    name: str
    description: str | None = None
    context_window: int | None = None
    output_limit: int | None = None
    is_reasoning: bool = False


class ProviderCheckFailed(Exception):
    """A provider cannot be used with these credentials. `str()` is the clear message (never the key);
    `refused` is set when the outbound guard refused the address."""

    def __init__(self, message: str, refused: OutboundRefused | None = None) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass
class _Client:
    version: str
    sdk: Any
    """AsyncOpenAI, AsyncAnthropic or GoogleProvider."""


class ProviderClients:
    """SDK clients per connector, built on first use and reused by every turn of that connector."""

    def __init__(self, allow: AllowList, *, timeout: float, retries: int) -> None:
        self.allow = allow
        self.timeout = timeout
        self.retries = retries
        self._clients: dict[UUID, _Client] = {}
        self._lists: dict[tuple[UUID, str], tuple[float, list[ProviderModel]]] = {}

    def forget(self, connector_uuid: UUID) -> None:
        """Drop a connector's client and model list (it was updated or deleted)."""
        self._clients.pop(connector_uuid, None)
        for key in [k for k in self._lists if k[0] == connector_uuid]:
            del self._lists[key]

    def cached_client(self, connector_uuid: UUID) -> Any | None:
        """The SDK client kept for a connector (None before its first use or after `forget`)."""
        cached = self._clients.get(connector_uuid)
        return cached.sdk if cached is not None else None

    async def models(self, creds: ProviderCredentials, *, ttl: float, fresh: bool = False) -> list[ProviderModel]:
        """`list_models`, kept `ttl` seconds per connector version (`fresh`: asked again now)."""
        key = (creds.connector_uuid, creds.version)
        cached = self._lists.get(key)
        now = time.monotonic()
        if cached is not None and not fresh and cached[0] > now:
            return cached[1]
        found = await self.list_models(creds)
        self._lists[key] = (now + ttl, found)
        return found

    def _sdk(self, creds: ProviderCredentials) -> Any:
        cached = self._clients.get(creds.connector_uuid)
        if cached is not None and cached.version == creds.version:
            return cached.sdk
        sdk = self._build(creds)
        self._clients[creds.connector_uuid] = _Client(creds.version, sdk)
        return sdk

    def _build(self, creds: ProviderCredentials) -> Any:
        http = guarded_client2(self.allow, timeout=self.timeout)
        if creds.integration in ("openai", "openaiCompatible"):
            from .openai_client import LeanAsyncOpenAI

            return LeanAsyncOpenAI(
                base_url=creds.base_url or None,
                api_key=creds.api_key or "not-needed",
                http_client=http,
                max_retries=self.retries,
                timeout=self.timeout,
            )
        if creds.integration == "anthropic":
            from anthropic import AsyncAnthropic

            return AsyncAnthropic(
                api_key=creds.api_key,
                base_url=creds.base_url or None,
                http_client=http,
                max_retries=self.retries,
                timeout=self.timeout,
            )
        if creds.integration == "gemini":
            from google.genai.types import HttpRetryOptions
            from pydantic_ai.providers.google import GoogleProvider

            retry = HttpRetryOptions(attempts=self.retries + 1) if self.retries else None
            return GoogleProvider(
                api_key=creds.api_key or "", base_url=creds.base_url or None, http_client=http, retry_options=retry
            )
        raise ValueError(f"integration {creds.integration!r} has no provider client")

    def model(self, creds: ProviderCredentials, slug: str) -> Model:
        sdk = self._sdk(creds)
        if creds.integration in ("openai", "openaiCompatible"):
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider

            return OpenAIChatModel(slug, provider=OpenAIProvider(openai_client=sdk))
        if creds.integration == "anthropic":
            from pydantic_ai.models.anthropic import AnthropicModel
            from pydantic_ai.providers.anthropic import AnthropicProvider

            return AnthropicModel(slug, provider=AnthropicProvider(anthropic_client=sdk))
        from pydantic_ai.models.google import GoogleModel

        return GoogleModel(slug, provider=sdk)

    async def list_models(self, creds: ProviderCredentials) -> list[ProviderModel]:
        """The models the provider offers these credentials. Raises ProviderCheckFailed (a bad key,
        an unreachable or refused server): this is also the connection test."""
        if creds.base_url:
            try:
                await check_url(creds.base_url, self.allow)
            except OutboundRefused as exc:
                raise ProviderCheckFailed(f"`config.baseUrl`: {exc}", exc) from None
        try:
            return await self._list(creds)
        except ProviderCheckFailed:
            raise
        except Exception as exc:
            raise ProviderCheckFailed(_failure(creds.integration, exc), refusal_of(exc)) from None

    async def _list(self, creds: ProviderCredentials) -> list[ProviderModel]:
        await sdk_ready(creds.integration)
        sdk = self._sdk(creds)
        found: list[ProviderModel] = []
        if creds.integration in ("openai", "openaiCompatible"):
            try:
                async for item in sdk.models.list():
                    found.append(describe_model(creds.integration, item.id))
            except Exception as exc:
                # An OpenAI-compatible server without a model list (404) is usable with `config.models`.
                if creds.integration != "openaiCompatible" or getattr(exc, "status_code", None) != 404:
                    raise
                if not creds.models:
                    raise ProviderCheckFailed(
                        "the server has no model list (`GET /models` is 404): name its models in `config.models`"
                    ) from None
            listed = {m.slug for m in found}
            found += [describe_model(creds.integration, slug) for slug in creds.models if slug not in listed]
        elif creds.integration == "anthropic":
            async for info in sdk.models.list():
                found.append(
                    describe_model(
                        "anthropic",
                        info.id,
                        name=info.display_name,
                        context_window=getattr(info, "max_input_tokens", None),
                        output_limit=getattr(info, "max_tokens", None),
                    )
                )
        else:
            pager = await sdk.client.aio.models.list()
            async for item in pager:
                slug = (item.name or "").removeprefix("models/")
                if not slug or (item.supported_actions and "generateContent" not in item.supported_actions):
                    continue
                found.append(
                    describe_model(
                        "gemini",
                        slug,
                        name=item.display_name,
                        description=item.description,
                        context_window=item.input_token_limit,
                        output_limit=item.output_token_limit,
                        is_reasoning=bool(item.thinking) or None,
                    )
                )
        return found


def _failure(integration: str, exc: BaseException) -> str:
    """A provider error as one sentence for the client (the status and the provider's own words,
    never our request: the key is in its headers)."""
    if refused := refusal_of(exc):
        return f"`config.baseUrl`: {refused}"
    status = getattr(exc, "status_code", None) or getattr(exc, "code", None)
    if status in (401, 403):
        return f"{integration}: the provider refused the API key ({status})"
    if isinstance(status, int):
        return f"{integration}: the provider answered {status} when listing its models"
    name = type(exc).__name__
    if "Connect" in name or "Connection" in name or "Timeout" in name:
        return f"{integration}: the provider's server cannot be reached ({name})"
    return f"{integration}: the provider cannot be used ({name})"


def describe_model(
    integration: str,
    slug: str,
    *,
    name: str | None = None,
    description: str | None = None,
    context_window: int | None = None,
    output_limit: int | None = None,
    is_reasoning: bool | None = None,
) -> ProviderModel:
    """A model as `languageModels` shows it: what the provider said, completed from `genai-prices`
    (name, description, context window) and pydantic-ai's profile (thinking, output limit)."""
    info = _genai_model(integration, slug)
    profile = _profile(integration, slug)
    if is_reasoning is None:
        is_reasoning = bool(profile.get("supports_thinking"))
    return ProviderModel(
        slug=slug,
        name=name or (info.name if info is not None and info.name else slug),
        description=description or (info.description if info is not None else None),
        context_window=context_window or (info.context_window if info is not None else None),
        output_limit=output_limit or profile.get("anthropic_max_output_tokens"),
        is_reasoning=is_reasoning,
    )


def _genai_model(integration: str, slug: str) -> Any:
    from genai_prices import data_snapshot

    try:
        _, model = data_snapshot.get_snapshot().find_provider_model(slug, None, _GENAI_PROVIDER.get(integration), None)
    except Exception:  # genai-prices raises LookupError for models it does not know
        return None
    return model


def genai_price(integration: str, slug: str) -> tuple[float, float] | None:
    """USD per 1,000 input and output tokens, from `genai-prices` (None when it does not know it)."""
    model = _genai_model(integration, slug)
    prices = getattr(model, "prices", None)
    input_mtok = getattr(prices, "input_mtok", None)
    output_mtok = getattr(prices, "output_mtok", None)
    if input_mtok is None and output_mtok is None:
        return None
    return float(input_mtok or 0) / 1000, float(output_mtok or 0) / 1000


def _profile(integration: str, slug: str) -> dict[str, Any]:
    try:
        if integration in ("openai", "openaiCompatible"):
            from pydantic_ai.profiles.openai import openai_model_profile

            profile: Any = openai_model_profile(slug)
        elif integration == "anthropic":
            from pydantic_ai.profiles.anthropic import anthropic_model_profile

            profile = anthropic_model_profile(slug)
        else:
            from pydantic_ai.profiles.google import google_model_profile

            profile = google_model_profile(slug)
    except Exception:
        return {}
    return dict(profile or {})
