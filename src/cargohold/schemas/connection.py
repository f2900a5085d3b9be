"""Connection wire models (cargo-storage-api.md §Connection): integrations (what can be connected,
each with the JSON Schema of its connector `config`) and connectors (the credentials a workspace
brings). A connector's `config` is masked by its serializer (`schemas/secrets.MaskedConnectorConfig`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from ..settings import ModelPrice
from .common import UUID4, CamelModel, RequestModel
from .secrets import MaskedConnectorConfig
from .storage import Dataset

__all__ = [
    "INTEGRATIONS",
    "Connector",
    "ConnectorCreate",
    "ConnectorEnvelope",
    "ConnectorUpdate",
    "ConnectorWithDataset",
    "ConnectorsEnvelope",
    "Integration",
    "IntegrationEnvelope",
    "IntegrationSpec",
    "IntegrationsEnvelope",
    "LanguageModel",
    "LanguageModelCredits",
    "LanguageModelsEnvelope",
    "RateLimit",
]

_SECRET: dict[str, Any] = {"writeOnly": True, "format": "password"}
SLUG = r"^[a-zA-Z][a-zA-Z0-9_]{0,62}$"


class _Config(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=False, validate_by_alias=True, extra="forbid")


class _Priced(_Config):
    model_prices: dict[str, ModelPrice] | None = Field(
        default=None,
        description="This connector's own credits per 1,000 input/output tokens by model slug (`*`: any other), "
        "over the server's price table.",
    )


class OpenAIConfig(_Priced):
    api_key: str = Field(min_length=1, max_length=500, json_schema_extra=_SECRET, description="An OpenAI API key.")
    base_url: str | None = Field(default=None, max_length=2000, description="Default: https://api.openai.com/v1.")


class AnthropicConfig(_Priced):
    api_key: str = Field(min_length=1, max_length=500, json_schema_extra=_SECRET, description="An Anthropic API key.")
    base_url: str | None = Field(default=None, max_length=2000, description="Default: https://api.anthropic.com.")


class GeminiConfig(_Priced):
    api_key: str = Field(
        min_length=1, max_length=500, json_schema_extra=_SECRET, description="A Gemini API key (Google AI Studio)."
    )
    base_url: str | None = Field(
        default=None, max_length=2000, description="Default: https://generativelanguage.googleapis.com."
    )


class OpenAICompatibleConfig(_Priced):
    base_url: str = Field(
        min_length=1,
        max_length=2000,
        description="The server's OpenAI-compatible API, e.g. http://localhost:11434/v1 (Ollama), a vLLM, "
        "llama.cpp, OpenRouter or LiteLLM URL.",
    )
    api_key: str | None = Field(default=None, max_length=500, json_schema_extra=_SECRET)
    models: list[str] | None = Field(
        default=None, max_length=200, description="The models to offer when the server has no `GET /models`."
    )


class OfflineConfig(_Config):
    pass


class PostgresqlConfig(_Config):
    url: str = Field(
        min_length=1,
        max_length=2000,
        pattern=r"^postgres(ql)?(\+asyncpg)?://",
        json_schema_extra={"format": "uri"},
        description="postgresql://user:password@host:5432/database (read only: only SELECTs are run). "
        "The password is a secret: masked on every read.",
    )


class SqliteConfig(_Config):
    path: str = Field(
        min_length=1,
        max_length=2000,
        description="A SQLite file in a directory the operator allows (`CARGOHOLD_SQLITE_CONNECTOR_DIRS`), read only.",
    )


Category = Literal["ai", "database"]


class IntegrationSpec(BaseModel):
    slug: str
    name: str
    description: str
    category: Category
    config: type[BaseModel]

    @property
    def runs_models(self) -> bool:
        return self.category == "ai"


INTEGRATIONS: dict[str, IntegrationSpec] = {
    spec.slug: spec
    for spec in (
        IntegrationSpec(
            slug="openai",
            name="OpenAI",
            description="OpenAI's models with your API key.",
            category="ai",
            config=OpenAIConfig,
        ),
        IntegrationSpec(
            slug="anthropic",
            name="Anthropic",
            description="Claude models with your API key.",
            category="ai",
            config=AnthropicConfig,
        ),
        IntegrationSpec(
            slug="gemini",
            name="Gemini",
            description="Google's Gemini models with a Gemini API key (through pydantic-ai's Google provider).",
            category="ai",
            config=GeminiConfig,
        ),
        IntegrationSpec(
            slug="openaiCompatible",
            name="OpenAI-compatible",
            description="Any OpenAI-compatible server: Ollama, vLLM, llama.cpp, OpenRouter, LiteLLM.",
            category="ai",
            config=OpenAICompatibleConfig,
        ),
        IntegrationSpec(
            slug="offline",
            name="Offline",
            description="cargohold's built-in deterministic model: no key, no network.",
            category="ai",
            config=OfflineConfig,
        ),
        IntegrationSpec(
            slug="postgresql",
            name="PostgreSQL",
            description="A PostgreSQL database, read only, as a dataset of the storage domain.",
            category="database",
            config=PostgresqlConfig,
        ),
        IntegrationSpec(
            slug="sqlite",
            name="SQLite",
            description="A SQLite file on the server, read only, as a dataset of the storage domain.",
            category="database",
            config=SqliteConfig,
        ),
    )
}
"""Everything that can be connected, by slug."""


class Integration(CamelModel):
    slug: str
    name: str
    description: str
    category: Category = Field(description="`ai`: runs language models; `database`: a dataset of the storage domain.")
    config_schema: dict[str, Any] = Field(description="The JSON Schema a connector's `config` is validated against.")
    is_language_model_provider: bool

    @classmethod
    def of(cls, spec: IntegrationSpec) -> Integration:
        schema = spec.config.model_json_schema(by_alias=True)
        return cls(
            slug=spec.slug,
            name=spec.name,
            description=spec.description,
            category=spec.category,
            config_schema=schema,
            is_language_model_provider=spec.runs_models,
        )


class IntegrationEnvelope(CamelModel):
    integration: Integration


class IntegrationsEnvelope(CamelModel):
    integrations: list[Integration]


class RateLimit(CamelModel):
    model_config = ConfigDict(extra="forbid")
    max_requests: int = Field(ge=1, le=1_000_000, description="Turns this connector may run per interval.")
    interval_ms: int = Field(ge=1, le=86_400_000, description="The interval, in milliseconds.")


class ConnectorCreate(RequestModel):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(pattern=SLUG, description="Unique in the workspace; names a database connector's dataset in SQL.")
    integration_slug: str = Field(max_length=64)
    config: dict[str, Any] | None = None
    is_default: bool = Field(default=False, description="The workspace's default connector for its integration.")
    rate_limit: RateLimit | None = None
    cache_ttl_milliseconds: int | None = Field(default=None, ge=0, le=2**31 - 1)


class ConnectorUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    is_default: bool | None = None
    config: dict[str, Any] | None = Field(
        default=None, description="The whole config; a secret sent back masked keeps its stored value."
    )
    rate_limit: RateLimit | None = None
    cache_ttl_milliseconds: int | None = Field(default=None, ge=0, le=2**31 - 1)


class Connector(CamelModel):
    uuid: UUID4
    workspace_uuid: UUID4
    user_uuid: UUID4 | None = None
    name: str
    slug: str
    integration_slug: str
    is_default: bool
    config: MaskedConnectorConfig = None
    rate_limit: RateLimit | None = None
    cache_ttl_milliseconds: int | None = None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class ConnectorEnvelope(CamelModel):
    connector: Connector


class ConnectorWithDataset(CamelModel):
    connector: Connector
    dataset: Dataset | None = Field(default=None, description="A database connector's dataset.")


class ConnectorsEnvelope(CamelModel):
    connectors: list[Connector]


class LanguageModelCredits(CamelModel):
    input: float = Field(description="Credits per 1,000 input tokens.")
    output: float = Field(description="Credits per 1,000 output tokens.")


class LanguageModel(CamelModel):
    name: str
    slug: str
    description: str | None = None
    context_window_tokens_limit: int | None = None
    output_tokens_limit: int | None = None
    is_reasoning: bool = False
    credits: LanguageModelCredits | None = None


class LanguageModelsEnvelope(CamelModel):
    language_models: list[LanguageModel]
