"""`cargohold chat`: a terminal chat on rich, against a local or a remote server.

With `--url` (and `--token` or `CARGOHOLD_TOKEN`) it talks to that server; with neither it serves
the local database (`CARGOHOLD_DATABASE_URL`, default `cargohold.db` in `CARGOHOLD_DATA_DIR`) itself, in this process,
as its default workspace. Text streams as it comes; tool calls show compactly with their result;
Ctrl-C cancels the running turn (not the program); `/new` starts a new chat, `/quit` (or Ctrl-D)
leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from .client import AsyncClient

__all__ = ["chat_command"]

HELP = "Type a message and press Enter. /new starts a new chat, /quit leaves; Ctrl-C stops a turn."


def chat_command(
    url: Annotated[str | None, typer.Option(help="A cargohold server, e.g. http://127.0.0.1:8000.")] = None,
    token: Annotated[str | None, typer.Option(help="An API token (default: CARGOHOLD_TOKEN).")] = None,
    agent: Annotated[uuid.UUID | None, typer.Option(help="Talk to this agent (its deployed release).")] = None,
    chat: Annotated[uuid.UUID | None, typer.Option(help="Continue this chat.")] = None,
) -> None:
    """Chat with the server (or an agent) in the terminal."""
    from .client import CargoholdAPIError  # the client and pydantic-ai load only for this command

    os.environ.setdefault("PYDANTIC_AI_NO_BANNER", "1")
    token = token or os.environ.get("CARGOHOLD_TOKEN")
    if url is not None and not token:
        raise typer.BadParameter("a remote server needs --token or CARGOHOLD_TOKEN", param_hint="--token")
    try:
        asyncio.run(_main(url, token, agent, chat))
    except CargoholdAPIError as exc:
        typer.echo(f"cargohold: {exc.message}", err=True)
        raise typer.Exit(1) from None


async def _main(url: str | None, token: str | None, agent: uuid.UUID | None, chat: uuid.UUID | None) -> None:
    from .client import AsyncClient

    console = Console(highlight=False)
    async with _server(url, token) as (base_url, key), AsyncClient(base_url, key) as client:
        session = ChatSession(client, console, agent, chat)
        await session.run()


@contextlib.asynccontextmanager
async def _server(url: str | None, token: str | None) -> AsyncIterator[tuple[str, str]]:
    if url is not None and token:
        yield url.rstrip("/"), token
        return
    if token and url is None:
        url = "http://127.0.0.1:8000"
        yield url, token
        return
    async with _local_server() as served:
        yield served


@contextlib.asynccontextmanager
async def _local_server() -> AsyncIterator[tuple[str, str]]:
    """The local database served in this process on a free loopback port, with a token of its
    default workspace (created for this session)."""
    import uvicorn

    from .app import create_app
    from .settings import Settings
    from .store.workspaces import create_token, first_workspace

    app = create_app(Settings())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the local server did not start")
            await asyncio.sleep(0.05)
        state = app.state.cargohold
        async with state.sessions() as db, db.begin():
            found = await first_workspace(db, None)
            if found is None:
                raise RuntimeError("no workspace in the local database")
            key = await create_token(db, found[1], name="cargohold chat")
        yield f"http://127.0.0.1:{port}", key
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task
        sock.close()


class ChatSession:
    def __init__(self, client: AsyncClient, console: Console, agent: uuid.UUID | None, chat: uuid.UUID | None) -> None:
        self.client = client
        self.console = console
        self.agent = agent
        self.chat_uuid = chat or uuid.uuid4()
        self.turn: asyncio.Task[None] | None = None
        self.message_uuid: str | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._interrupt)
        where = f"agent {self.agent}" if self.agent else "the server's default model"
        self.console.print(f"[bold]cargohold chat[/bold] with {where}, chat {self.chat_uuid}")
        self.console.print(f"[dim]{HELP}[/dim]")
        try:
            while True:
                try:
                    line = await asyncio.to_thread(input, "> ")
                except EOFError:
                    break
                text = line.strip()
                if not text:
                    continue
                if text == "/quit":
                    break
                if text == "/new":
                    self.chat_uuid = uuid.uuid4()
                    self.console.print(f"[dim]new chat {self.chat_uuid}[/dim]")
                    continue
                self.turn = asyncio.create_task(self._turn(text))
                with contextlib.suppress(asyncio.CancelledError):
                    await self.turn
                self.turn = None
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    def _interrupt(self) -> None:
        if self.turn is not None and self.message_uuid is not None:
            self.console.print("\n[yellow]stopping the turn...[/yellow]")
            asyncio.get_running_loop().create_task(self.client.cancel(self.message_uuid))
        else:
            self.console.print("\n[dim](/quit to leave)[/dim]")

    async def _turn(self, text: str) -> None:
        from .client import CargoholdAPIError

        fields: dict[str, Any] = {"agentUuid": str(self.agent)} if self.agent else {}
        tools: dict[str, str] = {}
        try:
            async for chunk in self.client.stream(text, chat_uuid=self.chat_uuid, **fields):
                self._show(chunk, tools)
        except CargoholdAPIError as exc:
            self.console.print(f"[red]refused: {exc.message}[/red]")
        finally:
            self.message_uuid = None
        self.console.print()

    def _show(self, chunk: Any, tools: dict[str, str]) -> None:
        from pydantic_ai.ui.vercel_ai import response_types as rt

        out = self.console
        if isinstance(chunk, rt.StartChunk):
            self.message_uuid = chunk.message_id
        elif isinstance(chunk, rt.TextDeltaChunk):
            out.print(chunk.delta, end="", markup=False)
        elif isinstance(chunk, rt.ReasoningDeltaChunk):
            out.print(chunk.delta, end="", style="dim italic", markup=False)
        elif isinstance(chunk, rt.ToolInputAvailableChunk):
            tools[chunk.tool_call_id] = chunk.tool_name
            out.print(f"\n[cyan]> {chunk.tool_name}[/cyan] {_short(chunk.input)}")
        elif isinstance(chunk, rt.ToolOutputAvailableChunk):
            out.print(f"[cyan]< {tools.get(chunk.tool_call_id, 'tool')}[/cyan] {_short(chunk.output)}")
        elif isinstance(chunk, rt.ToolOutputErrorChunk):
            out.print(f"[red]< {tools.get(chunk.tool_call_id, 'tool')} failed:[/red]", end=" ")
            out.print(chunk.error_text, markup=False)
        elif isinstance(chunk, rt.ErrorChunk):
            out.print("\n[red]error:[/red]", end=" ")
            out.print(chunk.error_text, markup=False)
        elif isinstance(chunk, rt.AbortChunk):
            out.print("\n[yellow]stopped[/yellow]")
        elif isinstance(chunk, rt.FinishChunk):
            usage = (chunk.message_metadata or {}).get("usage") if isinstance(chunk.message_metadata, dict) else None
            if isinstance(usage, dict) and usage.get("creditsUsedCount") is not None:
                out.print(f"\n[dim]{usage['creditsUsedCount']} credits[/dim]", end="")


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "..."
