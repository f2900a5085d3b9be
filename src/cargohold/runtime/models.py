"""`integrationSlug` + `languageModelSlug` (+ a connector's credentials) -> a pydantic-ai model.
The one place model names map.

Integrations: `openai` (also any OpenAI-compatible server through `CARGOHOLD_OPENAI_BASE_URL`:
Ollama, vLLM, llama.cpp), `anthropic`, `gemini`, `openaiCompatible` (a connector's base URL only),
and `offline` (built in: no key, no network). A choice with a `connector_uuid` runs on that
connector's credentials (`providers.ProviderClients`, one client per connector); without one, on the
server's keys from settings (unless `CARGOHOLD_SERVER_KEYS=false`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from uuid import UUID

from ..errors import ConnectorNotFound, MissingProviderKey, UnknownModel
from ..settings import ModelPrice, Settings
from .offline import offline_model
from .outbound import AllowList
from .providers import ProviderClients, ProviderCredentials, genai_price, sdk_ready

if TYPE_CHECKING:
    from pydantic_ai.models import Model

__all__ = ["INTEGRATIONS", "CredentialsLoader", "ModelChoice", "ModelRegistry", "ResolvedModel"]

INTEGRATIONS = ("openai", "anthropic", "gemini", "openaiCompatible", "offline")
_DEFAULT_MODEL = {
    "openai": "gpt-4o-mini",
    "anthropic": "claude-3-5-haiku-latest",
    "gemini": "gemini-2.5-flash",
    "offline": "offline",
}

CredentialsLoader = Callable[[UUID, UUID], Awaitable[ProviderCredentials | None]]
"""(workspace uuid, connector uuid) -> the connector's credentials, None when it is gone."""


@dataclass(frozen=True, slots=True)
class ModelChoice:
    integration: str
    slug: str
    connector_uuid: UUID | None = None


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """What a turn runs: the model, the price table its credits come from, and its connector."""

    model: Model
    prices: dict[str, ModelPrice]
    connector_uuid: UUID | None = None


class ModelRegistry:
    """Resolves and caches models. `choose` validates a request's choice before anything is stored."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._cache: dict[ModelChoice, Model] = {}
        self.providers = ProviderClients(
            AllowList.parse(settings.allow_private_urls),
            timeout=settings.model_request_timeout,
            retries=settings.model_max_retries,
        )
        self.load_credentials: CredentialsLoader | None = None
        """Set by the app: reads a connector's credentials (services/connectors.credentials_loader)."""
        self._connector_models: dict[tuple[UUID, str, str], Model] = {}

    async def resolve(self, workspace_uuid: UUID, choice: ModelChoice) -> ResolvedModel:
        """The model of a stored choice, with its price table: a connector's credentials are read
        (one primary-key read) and its client reused while the connector is unchanged."""
        if choice.connector_uuid is None or choice.integration == "offline":
            return ResolvedModel(self.model(choice), self.settings.model_prices, choice.connector_uuid)
        if self.load_credentials is None:
            raise RuntimeError("ModelRegistry.load_credentials is not set")
        creds = await self.load_credentials(workspace_uuid, choice.connector_uuid)
        if creds is None:
            raise ConnectorNotFound(f"Connector {choice.connector_uuid} was deleted")
        await sdk_ready(creds.integration)
        return ResolvedModel(
            self.connector_model(creds, choice.slug), self.prices_for(creds, choice.slug), creds.connector_uuid
        )

    def connector_model(self, creds: ProviderCredentials, slug: str) -> Model:
        key = (creds.connector_uuid, creds.version, slug)
        model = self._connector_models.get(key)
        if model is None:
            # Changed on another instance: the models of its older versions go.
            for old in [k for k in self._connector_models if k[0] == creds.connector_uuid and k[1] != creds.version]:
                del self._connector_models[old]
            model = self._connector_models[key] = self.providers.model(creds, slug)
        return model

    def forget(self, connector_uuid: UUID) -> None:
        """A connector changed or was deleted: its clients and models are built again on next use."""
        self.providers.forget(connector_uuid)
        for key in [k for k in self._connector_models if k[0] == connector_uuid]:
            del self._connector_models[key]

    def prices_for(self, creds: ProviderCredentials, slug: str) -> dict[str, ModelPrice]:
        """A connector turn's price table: the connector's own price of the model, else the server's
        (`CARGOHOLD_MODEL_PRICES`) of that slug, else its list price (`genai-prices`) in credits,
        else the server's `*`."""
        server = self.settings.model_prices
        price = creds.prices.get(slug) or server.get(slug)
        if price is None and (usd := genai_price(creds.integration, slug)) is not None:
            rate = self.settings.credits_per_usd
            price = ModelPrice(input=usd[0] * rate, output=usd[1] * rate)
        return {slug: price or creds.prices.get("*") or server.get("*") or ModelPrice()}

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
        """A choice that runs on the server's keys (checked here)."""
        if integration is None and slug is None:
            return self.default_choice()
        choice = self.name(integration, slug)
        self._check_key(choice.integration)
        return choice

    def name(self, integration: str | None, slug: str | None) -> ModelChoice:
        """The integration and model a request names, with defaults filled in; no key is checked
        (a connector may bring it)."""
        if integration is None and slug is None:
            if not self.settings.default_model:
                return self.default_choice()
            integration, _, slug = self.settings.default_model.partition(":")
        if integration is None:
            integration = _infer_integration(slug or "") or self.default_choice().integration
        if integration not in INTEGRATIONS:
            raise UnknownModel(f"Unknown integrationSlug {integration!r}: cargohold serves {', '.join(INTEGRATIONS)}")
        slug = slug or _DEFAULT_MODEL.get(integration)
        if not slug:
            raise UnknownModel(f"Integration {integration!r} has no default model: name one in `languageModelSlug`")
        if integration == "offline" and slug != "offline":
            raise UnknownModel(f"Unknown languageModelSlug {slug!r} for integration 'offline': use 'offline'")
        return ModelChoice(integration, slug)

    def model(self, choice: ModelChoice) -> Model:
        model = self._cache.get(choice)
        if model is None:
            model = self._cache[choice] = self._build(choice)
        return model

    def _check_key(self, integration: str) -> None:
        s = self.settings
        if integration == "offline":
            return
        if not s.server_keys:
            raise MissingProviderKey(
                f"No connector for integration {integration!r} in this workspace, and this server runs no model "
                "on its own keys: add a connector (POST /v1/connection/connectors) or name one with `connectorUuid`"
            )
        if integration == "openaiCompatible":
            raise MissingProviderKey(
                "Integration 'openaiCompatible' runs on a connector's base URL: add a connector "
                "(POST /v1/connection/connectors) or name one with `connectorUuid`"
            )
        if integration == "gemini" and not s.gemini_api_key:
            raise MissingProviderKey(_missing_key("gemini", "CARGOHOLD_GEMINI_API_KEY"))
        if integration == "openai" and not (s.openai_api_key or s.openai_base_url):
            raise MissingProviderKey(_missing_key("openai", "CARGOHOLD_OPENAI_API_KEY"))
        if integration == "anthropic" and not s.anthropic_api_key:
            raise MissingProviderKey(_missing_key("anthropic", "CARGOHOLD_ANTHROPIC_API_KEY"))

    def _build(self, choice: ModelChoice) -> Model:
        s = self.settings
        retries, timeout = s.model_max_retries, s.model_request_timeout
        # Provider SDKs are imported on first use: together they take seconds to import.
        if choice.integration == "openai":
            from pydantic_ai.models.openai import OpenAIChatModel
            from pydantic_ai.providers.openai import OpenAIProvider

            from .openai_client import LeanAsyncOpenAI

            key = s.openai_api_key.get_secret_value() if s.openai_api_key else "not-needed"
            client = LeanAsyncOpenAI(base_url=s.openai_base_url, api_key=key, max_retries=retries, timeout=timeout)
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
        if choice.integration == "gemini":
            from pydantic_ai.models.google import GoogleModel
            from pydantic_ai.providers.google import GoogleProvider

            assert s.gemini_api_key is not None
            google = GoogleProvider(api_key=s.gemini_api_key.get_secret_value(), base_url=s.gemini_base_url)
            return GoogleModel(choice.slug, provider=google)
        return offline_model(token_delay=s.offline_token_delay)


def _infer_integration(slug: str) -> str | None:
    if slug == "offline":
        return "offline"
    if slug.startswith("claude"):
        return "anthropic"
    if slug.startswith("gemini"):
        return "gemini"
    if slug.startswith(("gpt-", "o1", "o3", "o4", "chatgpt")):
        return "openai"
    return None


def _missing_key(integration: str, env: str) -> str:
    return f"No API key for integration {integration!r}: set {env} on the server"
