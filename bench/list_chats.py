"""Seed one workspace with many chats (each with a user and an assistant message), then time
`GET /v1/ai/chats/list` over HTTP for the first page, a deep offset and each filter, and print
the query plan of the first page.

    uv run python bench/list_chats.py --chats 100000
    uv run python bench/list_chats.py --chats 100000 --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
import uvicorn

from cargohold.app import create_app
from cargohold.db.engine import make_engine, make_session_factory
from cargohold.db.migrate import upgrade
from cargohold.db.tables import Chat, Message
from cargohold.settings import Settings
from cargohold.store.workspaces import create_token, create_workspace

TRIGGERS = ["app", "draft", "connector", "web_extension", "workflow"]
STATUSES = ["success", "success", "success", "error", "cancelled"]


async def seed(url: str, count: int) -> tuple[str, dict[str, Any]]:
    engine = make_engine(url)
    await upgrade(engine)
    if engine.dialect.name == "postgresql":
        async with engine.begin() as conn:
            await conn.execute(sa.text("TRUNCATE messages, chats, api_tokens, users, workspaces CASCADE"))
    sessions = make_session_factory(engine)
    async with sessions() as session, session.begin():
        workspace, user = await create_workspace(session, "bench")
        token = await create_token(session, user)
    agents = [uuid.uuid4() for _ in range(20)]
    users = [user.uuid, *(uuid.uuid4() for _ in range(9))]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    rng = random.Random(7)
    batch = 5000
    started = time.perf_counter()
    for start in range(0, count, batch):
        chats, messages = [], []
        for i in range(start, min(count, start + batch)):
            chat_uuid, q, a = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            created = base + timedelta(seconds=i * 30)
            kind = rng.choice(TRIGGERS)
            chats.append(
                {
                    "uuid": chat_uuid,
                    "workspace_uuid": workspace.uuid,
                    "user_uuid": rng.choice(users),
                    "agent_uuid": rng.choice(agents) if rng.random() < 0.5 else None,
                    "release_uuid": None,
                    "slug": chat_uuid.hex[:12],
                    "name": f"Chat {i} about {rng.choice(['pricing', 'orders', 'hiring'])}",
                    "trigger": {"type": kind},
                    "trigger_type": kind,
                    "credits_used_count": 0.0,
                    "message_seq": 2,
                    "last_message_uuid": a,
                    "created_at": created,
                    "updated_at": created,
                }
            )
            for seq, (m, kind_, status) in enumerate(
                ((q, "user", "success"), (a, "assistant", rng.choice(STATUSES))), 1
            ):
                messages.append(
                    {
                        "uuid": m,
                        "workspace_uuid": workspace.uuid,
                        "chat_uuid": chat_uuid,
                        "seq": seq,
                        "type": kind_,
                        "status": status,
                        "parts": [{"type": "text", "text": "hello"}],
                        "actions": [],
                        "resources": [],
                        "capabilities": [],
                        "mcp_clients": [],
                        "evaluated_tools": {},
                        "suggested_actions": [],
                        "created_at": created,
                        "updated_at": created,
                    }
                )
        async with sessions() as session, session.begin():
            await session.execute(sa.insert(Chat), chats)
            await session.execute(sa.insert(Message), messages)
    print(f"seeded {count} chats and {2 * count} messages in {time.perf_counter() - started:.1f} s")
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execute(sa.text("ANALYZE"))
        else:
            await conn.execute(sa.text("ANALYZE chats"))
            await conn.execute(sa.text("ANALYZE messages"))
            await conn.commit()
    await engine.dispose()
    return token, {"agent": str(agents[0]), "user": str(users[1])}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='cargohold-list-')}/bench.db"
    token, ids = await seed(url, args.chats)

    settings = Settings(database_url=url, bootstrap=False)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    cases = {
        "first page (50)": {},
        "offset 10000": {"offset": 10000},
        "agentUuid": {"agentUuid": ids["agent"]},
        "userUuid": {"userUuid": ids["user"]},
        "triggerType=draft": {"triggerType": "draft"},
        "messageStatuses[]=error": {"messageStatuses[]": "error"},
        "name contains 'hiring'": {"name": "hiring"},
        "createdAfter (last 10%)": {
            "createdAfter": (
                datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=int(args.chats * 0.9) * 30)
            ).isoformat()
        },
    }
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}
    ) as client:
        print("| query | p50 ms | p99 ms | rows |\n|---|---|---|---|")
        for label, params in cases.items():
            times, rows = [], 0
            for _ in range(args.repeat):
                t = time.perf_counter()
                response = await client.get("/v1/ai/chats/list", params=params)
                times.append((time.perf_counter() - t) * 1000)
                rows = len(response.json()["chats"])
            times.sort()
            print(f"| {label} | {statistics.median(times):.1f} | {times[int(0.99 * (len(times) - 1))]:.1f} | {rows} |")
    server.should_exit = True
    await task

    engine = make_engine(url)
    async with engine.connect() as conn:
        from cargohold.store.chats import ChatFilters, list_chats  # noqa: F401  (the query under test)

        ws = (await conn.execute(sa.text("SELECT uuid FROM workspaces LIMIT 1"))).scalar_one()
        from sqlalchemy.orm import aliased

        last = aliased(Message)
        query = (
            sa.select(Chat, last)
            .outerjoin(last, last.uuid == Chat.last_message_uuid)
            .where(Chat.workspace_uuid == ws, Chat.deleted_at.is_(None))
            .order_by(Chat.created_at.desc(), Chat.uuid.desc())
            .limit(50)
        )
        compiled = query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": False})
        prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        plan = await conn.exec_driver_sql(
            prefix + str(compiled),
            tuple(compiled.params.values()),
        )
        print("\nplan of the first page:")
        for row in plan:
            print("   ", " | ".join(str(c) for c in row))
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
