"""Connector use cases (/v1/connection): integrations, connectors (CRUD, the connection test before
anything is stored, masking through the wire model), a connector's language models, and the
credentials a turn runs with (`credentials_loader`, `turn_choice`).

A connector's `config` is encrypted whole at rest (`EncryptedJSON`); its secrets never leave in
clear (the wire model masks them) and never appear in a log line or an error message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..datasets.admin import DatasetRefused, check_database
from ..db.engine import SessionFactory
from ..db.tables import Connector, Dataset, StorageModel
from ..db.types import utcnow
from ..errors import (
    BadRequest,
    ConnectorNotFound,
    ConnectorTestFailed,
    DuplicateConnectorSlug,
    FailedToGetLanguageModels,
    IntegrationNotFound,
    InvalidConnectorConfig,
    LanguageModelNotSupported,
    LanguageModelsNotSupported,
    UrlNotAllowed,
)
from ..runtime.models import CredentialsLoader, ModelChoice, ModelRegistry
from ..runtime.providers import ProviderCheckFailed, ProviderCredentials, ProviderModel
from ..schemas.connection import INTEGRATIONS, ConnectorCreate, ConnectorUpdate, IntegrationSpec
from ..schemas.secrets import MASK, masked_paths, restore_connector_config
from ..settings import ModelPrice, Settings
from ..state import AppState
from ..store import connectors as store
from ..store.workspaces import Principal
from .config import validation_summary
from .database_connectors import insert_connector
from .rate_limits import RateLimiter, make_rate_limiter

__all__ = [
    "create_connector",
    "credentials_loader",
    "delete_connector",
    "integration",
    "language_models",
    "list_connectors",
    "list_integrations",
    "open_connectors",
    "read_connector",
    "turn_choice",
    "update_connector",
]

log = logging.getLogger(__name__)


def list_integrations(category: str | None, slug: str | None, search: str | None) -> list[IntegrationSpec]:
    found = list(INTEGRATIONS.values())
    if category:
        found = [i for i in found if i.category == category]
    if slug:
        found = [i for i in found if i.slug == slug]
    if search:
        needle = search.lower()
        found = [i for i in found if needle in f"{i.slug} {i.name} {i.description}".lower()]
    return found


def integration(slug: str) -> IntegrationSpec:
    spec = INTEGRATIONS.get(slug)
    if spec is None:
        raise IntegrationNotFound(f"No integration {slug!r}: cargohold connects {', '.join(INTEGRATIONS)}")
    return spec


def _checked_config(spec: IntegrationSpec, raw: dict[str, Any] | None) -> dict[str, Any]:
    try:
        config = spec.config.model_validate(raw or {})
    except ValidationError as exc:
        raise InvalidConnectorConfig(f"`config` of a {spec.slug!r} connector: {validation_summary(exc)}") from None
    return config.model_dump(mode="json", by_alias=True, exclude_none=True)


def credentials_of(connector_uuid: uuid.UUID, integration_slug: str, config: dict[str, Any]) -> ProviderCredentials:
    # The version changes with the config (a key or URL changed): clients of another version are rebuilt.
    version = hashlib.sha256(json.dumps([integration_slug, config], sort_keys=True).encode()).hexdigest()[:16]
    prices = {k: ModelPrice.model_validate(v) for k, v in (config.get("modelPrices") or {}).items()}
    return ProviderCredentials(
        connector_uuid=connector_uuid,
        integration=integration_slug,
        api_key=config.get("apiKey"),
        base_url=config.get("baseUrl"),
        version=version,
        models=tuple(config.get("models") or ()),
        prices=prices,
    )


def _sqlite_dirs(state: AppState) -> list[Path]:
    return [
        Path(d.strip()).expanduser().resolve() for d in state.settings.sqlite_connector_dirs.split(",") if d.strip()
    ]


async def _connection_test(
    state: AppState, spec: IntegrationSpec, connector_uuid: uuid.UUID, config: dict[str, Any]
) -> str | None:
    """Refuses (a 400) a config that cannot be used; a database's dataset URL."""
    if spec.category == "database":
        try:
            return await check_database(spec.slug, config, allow=state.outbound, sqlite_dirs=_sqlite_dirs(state))
        except DatasetRefused as exc:
            raise (UrlNotAllowed if exc.refused else ConnectorTestFailed)(f"connection test failed: {exc}") from None
    if spec.slug != "offline":
        creds = credentials_of(connector_uuid, spec.slug, config)
        try:
            await state.models.providers.models(creds, ttl=state.settings.connector_models_ttl_seconds, fresh=True)
        except ProviderCheckFailed as exc:
            raise (UrlNotAllowed if exc.refused else ConnectorTestFailed)(f"connection test failed: {exc}") from None
    return None


async def create_connector(state: AppState, who: Principal, body: ConnectorCreate) -> tuple[Connector, Dataset | None]:
    spec = integration(body.integration_slug)
    if spec.category == "database" and body.slug.lower() == "native":
        raise BadRequest("`slug`: a database connector's slug names its dataset in SQL, and `native` is taken")
    config = _checked_config(spec, body.config)
    if masked_paths(config):
        raise BadRequest(f"`config.{masked_paths(config)[0]}`: `{MASK}` stands for a stored secret; send the value")
    connector_uuid = uuid.uuid4()
    url = await _connection_test(state, spec, connector_uuid, config)
    now = utcnow()
    connector = Connector(
        uuid=connector_uuid,
        workspace_uuid=who.workspace_uuid,
        user_uuid=who.user_uuid,
        name=body.name,
        slug=body.slug,
        integration_slug=spec.slug,
        is_default=body.is_default,
        config=config,
        rate_limit=body.rate_limit.model_dump(by_alias=True) if body.rate_limit else None,
        cache_ttl_milliseconds=body.cache_ttl_milliseconds,
        created_at=now,
        updated_at=now,
    )
    try:
        async with state.sessions() as session, session.begin():
            return await insert_connector(session, connector, url)
    except DatasetRefused as exc:  # its dataset's slug is taken
        raise DuplicateConnectorSlug(str(exc)) from None
    except IntegrityError:
        raise DuplicateConnectorSlug(f"a connector `{body.slug}` already exists in this workspace") from None


async def list_connectors(state: AppState, who: Principal, integration_slug: str | None) -> list[Connector]:
    async with state.reads() as session:
        return await store.list_connectors(session, who.workspace_uuid, integration_slug)


async def read_connector(state: AppState, who: Principal, connector_uuid: uuid.UUID) -> Connector:
    async with state.reads() as session:
        found = await store.get_connector(session, who.workspace_uuid, connector_uuid)
    if found is None:
        raise ConnectorNotFound()
    return found


def _restored(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A config sent back with masked secrets: each keeps its stored value, only where it would go
    to the same place (the same base URL); a mask left over is a 400."""
    restored = restore_connector_config(new, old)
    if restored != new and new.get("baseUrl") != old.get("baseUrl"):
        raise BadRequest(f"`config`: `{MASK}` keeps a stored secret only for the same `baseUrl`; send the key in clear")
    if left := masked_paths(restored):
        raise BadRequest(f"`config.{left[0]}`: `{MASK}` stands for a stored secret this connector does not have")
    return restored


async def update_connector(
    state: AppState, who: Principal, connector_uuid: uuid.UUID, body: ConnectorUpdate
) -> Connector:
    current = await read_connector(state, who, connector_uuid)
    spec = integration(current.integration_slug)
    config, url = current.config, None
    if body.config is not None:
        config = _checked_config(spec, _restored(body.config, current.config))
        state.models.forget(connector_uuid)  # the test builds the new config's client, which turns reuse
        url = await _connection_test(state, spec, connector_uuid, config)
    async with state.sessions() as session, session.begin():
        row = await store.get_connector(session, who.workspace_uuid, connector_uuid, for_update=True)
        if row is None:
            raise ConnectorNotFound()
        if body.is_default:
            await store.clear_default(session, who.workspace_uuid, row.integration_slug, keep=row.uuid)
        if body.is_default is not None:
            row.is_default = body.is_default
        if body.name is not None:
            row.name = body.name
        if "rate_limit" in body.model_fields_set:
            row.rate_limit = body.rate_limit.model_dump(by_alias=True) if body.rate_limit else None
        if "cache_ttl_milliseconds" in body.model_fields_set:
            row.cache_ttl_milliseconds = body.cache_ttl_milliseconds
        row.config = config
        row.updated_at = utcnow()
        if url is not None and (dataset := await store.connector_dataset(session, who.workspace_uuid, row.uuid)):
            dataset.url, dataset.updated_at = url, utcnow()
        await session.flush()
    return row


async def delete_connector(state: AppState, who: Principal, connector_uuid: uuid.UUID) -> None:
    """The connector, and a database connector's dataset and its models, are deleted."""
    async with state.sessions() as session, session.begin():
        row = await store.get_connector(session, who.workspace_uuid, connector_uuid, for_update=True)
        if row is None:
            raise ConnectorNotFound()
        now = utcnow()
        row.deleted_at, row.is_default = now, False
        dataset = await store.connector_dataset(session, who.workspace_uuid, row.uuid)
        if dataset is not None:
            dataset.deleted_at = now
            for model in (await session.execute(_models_of(dataset))).scalars():
                model.deleted_at = now
    state.models.forget(connector_uuid)


def _models_of(dataset: Dataset) -> Any:
    return sa.select(StorageModel).where(StorageModel.dataset_uuid == dataset.uuid, StorageModel.deleted_at.is_(None))


async def language_models(state: AppState, who: Principal, connector_uuid: uuid.UUID) -> list[dict[str, Any]]:
    """What the connector can run, from its provider's list, with the credits a turn would charge."""
    connector = await read_connector(state, who, connector_uuid)
    spec = integration(connector.integration_slug)
    if not spec.runs_models:
        raise LanguageModelsNotSupported(f"A {spec.slug!r} connector runs no language models")
    if spec.slug == "offline":
        found = [ProviderModel("offline", "Offline", "cargohold's built-in deterministic model")]
        prices = state.settings.model_prices
        return [_language_model(m, prices.get("offline") or prices.get("*")) for m in found]
    creds = credentials_of(connector.uuid, spec.slug, connector.config)
    try:
        found = await state.models.providers.models(creds, ttl=state.settings.connector_models_ttl_seconds)
    except ProviderCheckFailed as exc:
        raise FailedToGetLanguageModels(f"Could not list the connector's models: {exc}") from None
    return [_language_model(m, state.models.prices_for(creds, m.slug)[m.slug]) for m in found]


def _language_model(model: ProviderModel, price: ModelPrice | None) -> dict[str, Any]:
    return {
        "name": model.name,
        "slug": model.slug,
        "description": model.description,
        "context_window_tokens_limit": model.context_window,
        "output_tokens_limit": model.output_limit,
        "is_reasoning": model.is_reasoning,
        "credits": price.model_dump() if price is not None else None,
    }


def open_connectors(state: AppState) -> RateLimiter:
    """Wired by the app's lifespan: turns read connector credentials, rate limits are counted (in
    Redis when configured). The limiter is closed at shutdown."""
    state.models.load_credentials = credentials_loader(state.reads)
    state.limiter = make_rate_limiter(state.settings.redis_url, state.settings.redis_prefix)
    return state.limiter


def credentials_loader(reads: SessionFactory) -> CredentialsLoader:
    """How a turn reads its connector's credentials (one primary-key read on the read pool)."""

    async def load(workspace_uuid: uuid.UUID, connector_uuid: uuid.UUID) -> ProviderCredentials | None:
        async with reads() as session:
            row = await store.get_connector(session, workspace_uuid, connector_uuid)
        if row is None:
            return None
        return credentials_of(row.uuid, row.integration_slug, row.config)

    return load


class _Models(Protocol):
    """What choosing a turn's model needs: the app's state, or a running turn's deps."""

    @property
    def models(self) -> ModelRegistry: ...

    @property
    def settings(self) -> Settings: ...


async def turn_choice(
    state: _Models,
    session: AsyncSession,
    workspace_uuid: uuid.UUID,
    integration_slug: str | None,
    model_slug: str | None,
    connector_uuid: uuid.UUID | None,
    *,
    limiter: RateLimiter | None = None,
) -> ModelChoice:
    """The model a turn (or a release) runs and the connector whose credentials run it: the one named
    (a connector of this workspace, else a 404), else the workspace's default for the integration,
    else the server's keys (`CARGOHOLD_SERVER_KEYS`). A model the connector cannot run is a 400; with
    a `limiter` (a turn), one of the connector's `rateLimit` is taken: a 429 before anything is stored."""
    connector = None
    if connector_uuid is not None:
        connector = await store.get_connector(session, workspace_uuid, connector_uuid)
        if connector is None:
            raise ConnectorNotFound(f"Connector {connector_uuid} not found in this workspace")
        if not integration(connector.integration_slug).runs_models:
            raise BadRequest(f"`connectorUuid`: a {connector.integration_slug!r} connector runs no language models")
        if integration_slug is not None and integration_slug != connector.integration_slug:
            raise BadRequest(
                f"`integrationSlug` {integration_slug!r} differs from the connector's ({connector.integration_slug!r})"
            )
        integration_slug = connector.integration_slug
    choice = state.models.name(integration_slug, model_slug)
    if connector is None and choice.integration != "offline":
        connector = await store.default_connector(session, workspace_uuid, choice.integration)
    if connector is None:
        return state.models.choose(choice.integration, choice.slug)
    if choice.integration != "offline":
        await _check_runnable(state, connector, choice.slug)
    if limiter is not None and connector.rate_limit:
        limit = connector.rate_limit
        await limiter.take(f"connector:{connector.uuid}", int(limit["maxRequests"]), int(limit["intervalMs"]))
    return ModelChoice(choice.integration, choice.slug, connector.uuid)


async def _check_runnable(state: _Models, connector: Connector, slug: str) -> None:
    creds = credentials_of(connector.uuid, connector.integration_slug, connector.config)
    try:
        found = await state.models.providers.models(creds, ttl=state.settings.connector_models_ttl_seconds)
    except ProviderCheckFailed as exc:
        # The provider cannot list its models now: the turn runs and says what failed.
        log.warning("connector %s: model list unavailable (%s)", connector.uuid, exc)
        return
    if slug not in {m.slug for m in found}:
        raise LanguageModelNotSupported(
            f"Connector {connector.slug!r} cannot run {slug!r}: "
            f"see GET /v1/connection/connectors/{connector.uuid}/languageModels"
        )
