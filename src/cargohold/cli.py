"""`cargohold serve`, `cargohold workspace create|list`, `cargohold token create|list|revoke`,
`cargohold secrets rotate`, `cargohold dataset add`, `cargohold chat`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from .chat import chat_command
from .settings import Settings

if TYPE_CHECKING:
    from .db.engine import SessionFactory

# Each command imports what it needs when it runs: `cargohold --help` and the admin commands do not
# pay for the web stack, the models' SDKs or Temporal (each `cargohold` process starts faster).

__all__ = ["app"]

app = typer.Typer(help="cargohold: a self-hostable server for AI agents that chat.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
workspace_app = typer.Typer(help="Workspaces.", no_args_is_help=True)
app.add_typer(workspace_app, name="workspace")
secrets_app = typer.Typer(help="Secrets at rest.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")
app.command("chat")(chat_command)


dataset_app = typer.Typer(help="Datasets: external SQL databases a workspace's models read.", no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Run the server: migrates the database, then serves the API."""
    import uvicorn

    from .app import create_app  # the web stack is not needed by the other commands
    from .crypto import SecretKeyError, keyring_from
    from .logs import logging_config

    settings = Settings()
    if settings.uses_data_dir:
        typer.echo(f"cargohold: data directory {settings.data_dir.expanduser()} (CARGOHOLD_DATA_DIR)", err=True)
    try:
        keyring_from(settings)  # refused before the server starts, in one clear sentence
    except SecretKeyError as exc:
        typer.echo(f"cargohold: {exc}", err=True)
        raise typer.Exit(2) from None
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        log_config=logging_config(settings.log_format),
        timeout_graceful_shutdown=10,
    )


@app.command()
def worker() -> None:
    """Run turns for Temporal (`CARGOHOLD_TEMPORAL_ADDRESS`): any number of workers, same database and Redis."""
    import logging
    import logging.config

    from .crypto import SecretKeyError, keyring_from
    from .jobs.temporal.worker import WorkerConfigError, run_worker
    from .logs import install_log_hygiene, logging_config

    settings = Settings()
    if settings.log_format == "json":
        logging.config.dictConfig(logging_config("json"))
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_hygiene()
    try:
        keyring_from(settings)
        asyncio.run(run_worker(settings))
    except (SecretKeyError, WorkerConfigError) as exc:
        typer.echo(f"cargohold worker: {exc}", err=True)
        raise typer.Exit(2) from None


async def _create_token(settings: Settings, workspace: uuid.UUID | None, name: str | None) -> str:
    # Tokens are not encrypted secrets: no key needed (a migration that needs one says so).
    from .store.workspaces import create_token, first_workspace

    async with _store(settings) as sessions, sessions() as session, session.begin():
        found = await first_workspace(session, workspace)
        if found is None:
            if workspace is not None:
                raise typer.BadParameter(f"no workspace {workspace}", param_hint="--workspace")
            raise typer.BadParameter("no workspace yet: run `cargohold serve` once first")
        return await create_token(session, found[1], name=name)


@token_app.command("create")
def token_create(
    workspace: Annotated[uuid.UUID | None, typer.Option(help="Workspace uuid (default: the first).")] = None,
    name: Annotated[str | None, typer.Option(help="A label to tell tokens apart.")] = None,
) -> None:
    """Print a new API token for a workspace. It is shown once and stored hashed."""
    typer.echo(asyncio.run(_create_token(Settings(), workspace, name)))


# -- workspace create|list, token list|revoke ---------------------------------------------------


@asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[SessionFactory]:
    """The migrated database's sessions (no secret key needed: these commands read no secret)."""
    from .crypto import SecretKeyError, keyring_from
    from .db.engine import make_engine, make_session_factory
    from .db.migrate import upgrade

    try:
        keyring = keyring_from(settings)
    except SecretKeyError:
        keyring = None
    engine = make_engine(settings.database_url, keyring=keyring)
    try:
        await upgrade(engine)
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in [header, *rows]
    )


async def _workspace_create(settings: Settings, name: str) -> uuid.UUID:
    from .store.workspaces import create_workspace

    async with _store(settings) as sessions, sessions() as session, session.begin():
        workspace, _ = await create_workspace(session, name)
        return workspace.uuid


@workspace_app.command("create")
def workspace_create(name: Annotated[str, typer.Argument(help="The workspace's name.")]) -> None:
    """Create a workspace (with an admin user) and print its uuid."""
    if not name.strip() or len(name) > 200:
        raise typer.BadParameter("a name of 1 to 200 characters", param_hint="NAME")
    created = asyncio.run(_workspace_create(Settings(), name.strip()))
    typer.echo(str(created))
    typer.echo(f"Give it a token: cargohold token create --workspace {created}", err=True)


async def _workspace_list(settings: Settings) -> list[list[str]]:
    from .store.workspaces import list_workspaces

    async with _store(settings) as sessions, sessions() as session:
        found = await list_workspaces(session)
    return [[str(w.uuid), w.name, _when(w.created_at), str(w.active_tokens)] for w in found]


@workspace_app.command("list")
def workspace_list() -> None:
    """List the workspaces, oldest first, with their count of active tokens."""
    rows = asyncio.run(_workspace_list(Settings()))
    typer.echo(_table(["UUID", "NAME", "CREATED", "TOKENS"], rows) if rows else "no workspaces yet")


async def _token_list(settings: Settings, workspace: uuid.UUID | None) -> list[list[str]]:
    from .store.workspaces import list_tokens

    async with _store(settings) as sessions, sessions() as session:
        found = await list_tokens(session, workspace)
    return [
        [str(t.uuid), str(t.workspace_uuid), t.name or "-", _when(t.created_at), _when(t.revoked_at)] for t in found
    ]


@token_app.command("list")
def token_list(
    workspace: Annotated[uuid.UUID | None, typer.Option(help="Only this workspace's tokens.")] = None,
) -> None:
    """List API tokens by id, name and dates (a token itself is never shown again)."""
    rows = asyncio.run(_token_list(Settings(), workspace))
    typer.echo(_table(["ID", "WORKSPACE", "NAME", "CREATED", "REVOKED"], rows) if rows else "no tokens")


async def _token_revoke(settings: Settings, token: uuid.UUID) -> datetime | None:
    from .store.workspaces import revoke_token

    async with _store(settings) as sessions, sessions() as session, session.begin():
        revoked = await revoke_token(session, token)
        return revoked.revoked_at if revoked else None


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[uuid.UUID, typer.Argument(metavar="ID", help="The token's id (`token list`).")],
) -> None:
    """Revoke an API token: the next request that uses it is refused (401)."""
    revoked_at = asyncio.run(_token_revoke(Settings(), token_id))
    if revoked_at is None:
        typer.echo(f"cargohold: no token {token_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {token_id} at {_when(revoked_at)}")


async def _rotate(settings: Settings) -> int:
    from .crypto import keyring_from
    from .db.engine import make_engine
    from .db.migrate import upgrade
    from .db.rotate import rotate_secrets

    engine = make_engine(settings.database_url, keyring=keyring_from(settings))
    try:
        await upgrade(engine)
        return await rotate_secrets(engine)
    finally:
        await engine.dispose()


async def _add_dataset(settings: Settings, workspace: uuid.UUID, slug: str, url: str) -> uuid.UUID:
    # A wrapper of POST /v1/connection/connectors: a `postgresql` / `sqlite` connector and its dataset,
    # made by the operator (any host or file; no outbound guard).
    from .crypto import keyring_from
    from .datasets.admin import DatasetRefused
    from .db.engine import make_engine, make_session_factory
    from .db.migrate import upgrade
    from .db.tables import Workspace
    from .services.database_connectors import add_database_connector

    engine = make_engine(settings.database_url, keyring=keyring_from(settings))
    try:
        await upgrade(engine)
        sessions = make_session_factory(engine)
        async with sessions() as session:
            if await session.get(Workspace, workspace) is None:
                raise DatasetRefused(f"no workspace {workspace}")
        return (await add_database_connector(sessions, workspace, slug, url)).uuid
    finally:
        await engine.dispose()


@secrets_app.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret with the first key of CARGOHOLD_SECRET_KEY; then the keys
    after it can be removed."""
    from .crypto import SecretKeyError

    try:
        count = asyncio.run(_rotate(Settings()))
    except SecretKeyError as exc:
        typer.echo(f"cargohold: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"re-encrypted {count} stored secrets with the first key")


@dataset_app.command("add")
def dataset_add(
    workspace: Annotated[uuid.UUID, typer.Option(help="Workspace uuid.")],
    slug: Annotated[str, typer.Option(help="Names the dataset in SQL: `<slug>.<model>`.")],
    url: Annotated[
        str,
        typer.Option(
            envvar="CARGOHOLD_DATASET_URL",
            help="SQLAlchemy URL of the database (PostgreSQL or SQLite); stored encrypted, never shown.",
        ),
    ],
) -> None:
    """Attach an external SQL database to a workspace as a read-only `connector` dataset."""
    from .datasets.admin import DatasetRefused

    try:
        dataset_uuid = asyncio.run(_add_dataset(Settings(), workspace, slug, url))
    except DatasetRefused as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(str(dataset_uuid))
