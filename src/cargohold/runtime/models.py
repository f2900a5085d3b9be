"""`integrationSlug` + `languageModelSlug` -> a pydantic-ai model. The one place model names map.

Integrations: `openai` (also any OpenAI-compatible server through `CARGOHOLD_OPENAI_BASE_URL`:
Ollama, vLLM, llama.cpp), `anthropic`, and `offline` (built in: no key, no network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import MissingProviderKey, UnknownModel
from ..settings import Settings
from .offline import offline_model

if TYPE_CHECKING:
    from pydantic_ai.models import Model

__all__ = ["INTEGRATIONS", "ModelChoice", "ModelRegistry"]

INTEGRATIONS = ("openai", "anthropic", "offline")
_DEFAULT_MODEL = {"openai": "gpt-4o-mini", "anthropic": "claude-3-5-haiku-latest", "offline": "offline"}


@dataclass(frozen=True, slots=True)
class ModelChoice:
    integration: str
    slug: str


class ModelRegistry:
    """Resolves and caches models. `choose` validates a request's choice before anything is stored."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cache: dict[ModelChoice, Model] = {}

    def default_choice(self) -> ModelChoice:
        if self.settings.default_model:
            integration, _, slug = self.settings.default_model.partition(":")
            return self.choose(integration, slug or None)
        if self.settings.openai_api_key:
            return ModelChoice("openai", _DEFAULT_MODEL["openai"])
        if self.settings.anthropic_api_key:
            return ModelChoice("anthropic", _DEFAULT_MODEL["anthropic"])
        return ModelChoice("offline", "offline")

    def choose(self, integration: str | None, slug: str | None) -> ModelChoice:
        if integration is None and slug is None:
            return self.default_choice()
        if integration is None:
            integration = _infer_integration(slug or "") or self.default_choice().integration
        if integration not in INTEGRATIONS:
            raise UnknownModel(f"Unknown integrationSlug {integration!r}: cargohold serves {', '.join(INTEGRATIONS)}")
        slug = slug or _DEFAULT_MODEL[integration]
        if integration == "offline" and slug != "offline":
            raise UnknownModel(f"Unknown languageModelSlug {slug!r} for integration 'offline': use 'offline'")
        self._check_key(integration)
        return ModelChoice(integration, slug)

    def model(self, choice: ModelChoice) -> Model:
        model = self._cache.get(choice)
        if model is None:
            model = self._cache[choice] = self._build(choice)
        return model

    def _check_key(self, integration: str) -> None:
        s = self.settings
        if integration == "openai" and not (s.openai_api_key or s.openai_base_url):
            raise MissingProviderKey(_missing_key("openai", "CARGOHOLD_OPENAI_API_KEY"))
        if integration == "anthropic" and not s.anthropic_api_key:
            raise MissingProviderKey(_missing_key("anthropic", "CARGOHOLD_ANTHROPIC_API_KEY"))

    def _build(self, choice: ModelChoice) -> Model:
        s = self.settings
        retries, timeout = s.model_max_retries, s.model_request_timeout
        # Provider SDKs are imported on first use: together they take seconds to import.
        if choice.integration == "openai":
            from openai import AsyncOpenAI
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider

            key = s.openai_api_key.get_secret_value() if s.openai_api_key else "not-needed"
            client = AsyncOpenAI(base_url=s.openai_base_url, api_key=key, max_retries=retries, timeout=timeout)
            return OpenAIChatModel(choice.slug, provider=OpenAIProvider(openai_client=client))
        if choice.integration == "anthropic":
            from anthropic import AsyncAnthropic
            from pydantic_ai.models.anthropic import AnthropicModel
            from pydantic_ai.providers.anthropic import AnthropicProvider

            assert s.anthropic_api_key is not None
            anthropic = AsyncAnthropic(
                api_key=s.anthropic_api_key.get_secret_value(),
                base_url=s.anthropic_base_url,
                max_retries=retries,
                timeout=timeout,
            )
            return AnthropicModel(choice.slug, provider=AnthropicProvider(anthropic_client=anthropic))
        return offline_model(token_delay=s.offline_token_delay)


def _infer_integration(slug: str) -> str | None:
    if slug == "offline":
        return "offline"
    if slug.startswith("claude"):
        return "anthropic"
    if slug.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return "openai"
    return None


def _missing_key(integration: str, env: str) -> str:
    return f"No API key for integration {integration!r}: set {env} on the server"
