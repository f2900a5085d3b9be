"""What a turn's statements cost in process, two ways each (bench/RESULTS.md, "Seventh pass"):

    uv run python bench/statements.py            # SQLite, in a temporary directory
    uv run python bench/statements.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/cargohold_bench

- `token`: the token lookup as every request runs it (`AppState.read_connection`: a plain
  connection of the reads engine, one statement), its statement built per call (as before the
  seventh pass) or once (`store/workspaces._BY_TOKEN`).
- `write`: a first turn's transaction (a new chat, its user and assistant messages, COMMIT) written
  by the ORM's flush (as before) or with Core INSERTs (`store/messages.insert_turn`).

Each is p50 wall time and p50 CPU time of the event loop's thread (`time.thread_time`), after a
warm-up, the two ways alternating in rounds so that a drift of the machine falls on both alike.
The database's schema is created from the tables (`drop_all` then `create_all`: use a database of
its own on PostgreSQL).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
import uvloop
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from cargohold.db.engine import make_engine, make_reader_engine, make_session_factory, one_statement_options
from cargohold.db.tables import ApiToken, Base
from cargohold.db.types import utcnow
from cargohold.store import chats as chat_store
from cargohold.store import messages as message_store
from cargohold.store.workspaces import authenticate, create_token, create_workspace, hash_token

Step = Callable[[], Awaitable[Any]]


async def _token_built_per_call(conn: AsyncConnection, token: str) -> Any:
    query = sa.select(ApiToken.workspace_uuid, ApiToken.user_uuid).where(
        ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None)
    )
    return (await conn.execute(query)).first()


def _turn_rows(workspace: uuid.UUID, user: uuid.UUID) -> tuple[Any, list[Any]]:
    chat = chat_store.new_chat(
        workspace_uuid=workspace, chat_uuid=uuid.uuid4(), trigger={"type": "app"}, user_uuid=user
    )
    common = {"user_uuid": user, "agent_uuid": None, "release_uuid": None, "evaluated_tools": {}}
    messages = [
        message_store.new_message(
            chat,
            type="user",
            status="success",
            parts=[{"type": "text", "text": "Hello"}],
            finished_at=utcnow(),
            **common,
        ),
        message_store.new_message(
            chat, type="assistant", status="generating", parts=[], lease_expires_at=utcnow(), **common
        ),
    ]
    return chat, messages


async def _write_by_flush(session: AsyncSession, workspace: uuid.UUID, user: uuid.UUID) -> None:
    chat, messages = _turn_rows(workspace, user)
    session.add_all([chat, *messages])


async def _write_by_insert(session: AsyncSession, workspace: uuid.UUID, user: uuid.UUID) -> None:
    chat, messages = _turn_rows(workspace, user)
    await message_store.insert_turn(session, chat, messages, chat_is_new=True)


async def _measure(ways: dict[str, Step], rounds: int, per_round: int) -> dict[str, tuple[float, float]]:
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for n in range(rounds + 1):
        for name, step in ways.items():
            for _ in range(per_round):
                wall, cpu = time.perf_counter(), time.thread_time()
                await step()
                if n:  # the first round warms up
                    times[name].append((time.perf_counter() - wall, time.thread_time() - cpu))
    return {
        name: (statistics.median(t[0] for t in got) * 1e6, statistics.median(t[1] for t in got) * 1e6)
        for name, got in times.items()
    }


async def main(args: argparse.Namespace) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/statements.db"
    engine = make_engine(url)
    reads = make_reader_engine(url, engine)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        workspace, user = await create_workspace(session, "bench")
        token = await create_token(session, user, "bench")
    one_statement = reads.execution_options(**one_statement_options(reads))

    async def token_lookup(lookup: Callable[[AsyncConnection, str], Awaitable[Any]]) -> None:
        async with one_statement.connect() as conn:
            assert await lookup(conn, token) is not None

    async def write(how: Callable[[AsyncSession, uuid.UUID, uuid.UUID], Awaitable[None]]) -> None:
        async with sessions() as session, session.begin():
            await how(session, workspace.uuid, user.uuid)

    cases: dict[str, dict[str, Step]] = {
        "token": {
            "built per call": lambda: token_lookup(_token_built_per_call),
            "built once": lambda: token_lookup(authenticate),
        },
        "write": {
            "ORM flush": lambda: write(_write_by_flush),
            "Core INSERTs": lambda: write(_write_by_insert),
        },
    }
    print(f"database: {engine.dialect.name}; p50 of {args.rounds} x {args.per_round} per way")
    print("| statement | way | wall p50 | loop thread's CPU p50 |")
    print("|---|---|---|---|")
    for case, ways in cases.items():
        for name, (wall, cpu) in (await _measure(ways, args.rounds, args.per_round)).items():
            print(f"| {case} | {name} | {wall:.0f} us | {cpu:.0f} us |", flush=True)
    await reads.dispose()
    if reads is not engine:
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=300)
    uvloop.run(main(parser.parse_args()))
