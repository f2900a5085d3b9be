"""Seed ONE workspace with many chats, each with a user and an assistant message, through the real
schema (cargohold's migrations run first), fast enough for a million chats.

    uv run python bench/seed_chats.py --database-url sqlite+aiosqlite:////tmp/cargohold-list/bench.db --chats 100000
    uv run python bench/seed_chats.py \
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/cargohold_bench --chats 1000000

The database is emptied first (SQLite: the file is recreated; PostgreSQL: every cargohold table is
truncated), so the seeded workspace is the only one and `cargohold token create` picks it.
PostgreSQL rows go in with asyncpg `COPY` (binary), SQLite rows with `executemany` in
transactions of `--batch` chats. Then `ANALYZE`.

Distributions (seeded, so a run is reproducible), chosen so that every `chats/list` filter means
something:
- created_at: uniform over the year before `--until` (default: now), rows inserted oldest first
  (as a live server inserts them); the assistant message 1-20 s after the user's.
- agent_uuid: 40% of chats belong to one of 8 agents (skewed: the first is 8x the last), each
  agent with 1-4 releases (release_uuid set with the agent); 60% have neither (NULL).
- user_uuid: 10 users (the workspace's admin plus 9), skewed; the token's user is the admin.
- trigger: app 40%, connector 15%, workflow 15%, draft 12%, web_extension 12%, chat 4%, schedule 2%,
  each with the fields its schema has (`trigger` JSON and `trigger_type`).
- last message (assistant) status: success 92.5%, error 4%, cancelled 2.5%, pending 0.5%,
  generating 0.5%. Unfinished ones are the chat's `active_stream_uuid` and hold a lease far in
  the future, so a running server's lease reaper leaves the data set as seeded.
- name: 15% NULL, else "<verb> <topic> for <company>" from small vocabularies (a topic word is in
  about 1/16 of names; a company in 1/400).
- 2% of chats are soft-deleted (with their messages): they must not show up, and the partial
  indexes skip them.
Each chat has `message_seq` 2 and `last_message_uuid` = its assistant message, as
store/messages.py `new_message` leaves them; `updated_at` is the last message's finish time.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cargohold.db.engine import make_engine, make_session_factory
from cargohold.db.migrate import upgrade
from cargohold.db.tables import Base, Chat, Message, User
from cargohold.store.workspaces import create_workspace

__all__ = ["SeedResult", "seed"]

TRIGGERS: list[tuple[str, float]] = [
    ("app", 40),
    ("connector", 15),
    ("workflow", 15),
    ("draft", 12),
    ("web_extension", 12),
    ("chat", 4),
    ("schedule", 2),
]
STATUSES: list[tuple[str, float]] = [
    ("success", 92.5),
    ("error", 4),
    ("cancelled", 2.5),
    ("pending", 0.5),
    ("generating", 0.5),
]
VERBS = ["Draft", "Summarize", "Research", "Qualify", "Follow up on", "Prepare", "Review", "Enrich"]
TOPICS = [
    "renewal",
    "pricing",
    "onboarding",
    "churn risk",
    "invoice",
    "pipeline",
    "hiring",
    "security review",
    "expansion",
    "webinar",
    "contract",
    "outreach",
    "demo",
    "support ticket",
    "quarterly plan",
    "partnership",
]
COMPANIES = [f"{a}{b}" for a, b in itertools.product(
    ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne",
     "Soylent", "Gringotts", "Vandelay", "Pied", "Dunder", "Oscorp", "Massive", "Aperture", "Black Mesa", "Monarch"],
    ["", " Labs", " Corp", " Inc", " Group", " Systems", " AI", " Foods", " Bank", " Health",
     " Energy", " Media", " Logistics", " Capital", " Works", " Cloud", " Retail", " Motors", " Bio", " Air"],
)]  # fmt: skip
LEASE_FOREVER = datetime(2099, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SeedResult:
    workspace_uuid: uuid.UUID
    admin_uuid: uuid.UUID
    chats: int
    seconds: float


class _Picker:
    """Weighted choice by bisection over cumulative weights (much faster than random.choices per row)."""

    def __init__(self, rng: random.Random, items: Sequence[Any], weights: Sequence[float]) -> None:
        self.rng, self.items = rng, list(items)
        self.cum = list(itertools.accumulate(weights))
        self.total = self.cum[-1]

    def __call__(self) -> Any:
        return self.items[bisect.bisect_right(self.cum, self.rng.random() * self.total)]


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _trigger(kind: str, rng: random.Random, agent: uuid.UUID | None) -> dict[str, Any]:
    """The `trigger` JSON as the API stores it (camelCase, `model_dump(by_alias=True)`)."""
    if kind == "connector":
        return {"type": kind, "connectorUuid": str(_uuid(rng)), "meta": {"channel": rng.choice(["slack", "email"])}}
    if kind == "workflow":
        return {"type": kind, "uuid": str(_uuid(rng)), "nodeUuid": str(_uuid(rng)), "runUuid": str(_uuid(rng))}
    if kind == "web_extension":
        return {"type": kind, "url": f"https://www.linkedin.com/company/{rng.randrange(10**6)}"}
    if kind == "chat":
        return {"type": kind, "uuid": str(_uuid(rng)), "agentUuid": str(agent) if agent else None, "messageUuid": None}
    return {"type": kind}


class _Rows:
    """Generates the rows of one chat after another, oldest first."""

    def __init__(self, count: int, workspace: uuid.UUID, users: list[uuid.UUID], until: datetime, seed: int) -> None:
        self.rng = rng = random.Random(seed)
        self.workspace = workspace
        span = 365 * 24 * 3600
        start = until - timedelta(seconds=span)
        offsets = sorted(rng.random() * span for _ in range(count))
        self.created = [start + timedelta(seconds=s) for s in offsets]
        agents = [_uuid(rng) for _ in range(8)]
        self.releases = {a: [_uuid(rng) for _ in range(rng.randint(1, 4))] for a in agents}
        # 40% of chats have an agent: weights 8..1 over the agents; 60% have none.
        self.agent = _Picker(rng, [None, *agents], [60.0, *(40.0 * w / 36 for w in range(8, 0, -1))])
        self.user = _Picker(rng, users, [30, 20, 12, 10, 8, 6, 5, 4, 3, 2][: len(users)])
        self.kind = _Picker(rng, [k for k, _ in TRIGGERS], [w for _, w in TRIGGERS])
        self.status = _Picker(rng, [s for s, _ in STATUSES], [w for _, w in STATUSES])

    def name(self) -> str | None:
        rng = self.rng
        if rng.random() < 0.15:
            return None
        return f"{rng.choice(VERBS)} {rng.choice(TOPICS)} for {rng.choice(COMPANIES)}"

    def chats(self, start: int, stop: int) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
        rng = self.rng
        for i in range(start, stop):
            created = self.created[i]
            chat_uuid, question_uuid, answer_uuid = _uuid(rng), _uuid(rng), _uuid(rng)
            agent = self.agent()
            release = rng.choice(self.releases[agent]) if agent else None
            user = self.user()
            kind = self.kind()
            status = self.status()
            answered = created + timedelta(seconds=1 + rng.random() * 19)
            finished = status not in ("pending", "generating")
            deleted = answered + timedelta(days=rng.random() * 30) if rng.random() < 0.02 else None
            input_tokens, output_tokens = rng.randint(200, 4000), rng.randint(20, 800)
            credits = round((input_tokens * 0.015 + output_tokens * 0.06) / 1000, 6) if finished else 0.0
            topic = rng.choice(TOPICS)
            question = f"Can you help me with the {topic}? " + "Here is some context about the account. " * rng.randint(
                1, 4
            )
            answer = f"Here is what I found about the {topic}. " + "One more useful detail for you. " * rng.randint(
                4, 20
            )
            chat = {
                "uuid": chat_uuid,
                "workspace_uuid": self.workspace,
                "user_uuid": user,
                "agent_uuid": agent,
                "release_uuid": release,
                "slug": chat_uuid.hex[:12],
                "name": self.name(),
                "trigger": _trigger(kind, rng, agent),
                "trigger_type": kind,
                "active_stream_uuid": None if finished else answer_uuid,
                "credits_used_count": credits,
                "message_seq": 2,
                "last_message_uuid": answer_uuid,
                "created_at": created,
                "updated_at": answered,
                "deleted_at": deleted,
            }
            common = {
                "workspace_uuid": self.workspace,
                "chat_uuid": chat_uuid,
                "agent_uuid": agent,
                "release_uuid": release,
                "user_uuid": user,
                "actions": [],
                "resources": [],
                "capabilities": [],
                "mcp_clients": [],
                "evaluated_tools": {},
                "suggested_actions": [],
                "deleted_at": deleted,
                "error_message": None,
                "system_prompt": None,
                "context_prompt": None,
                "with_reasoning": None,
                "temperature": None,
                "max_steps": None,
                "integration_slug": None,
                "connector_uuid": None,
                "language_model_slug": None,
                "usage": None,
                "output": None,
                "meta": None,
                "temporal_workflow_id": None,
                "lease_expires_at": None,
            }
            user_message = {
                **common,
                "uuid": question_uuid,
                "seq": 1,
                "type": "user",
                "status": "success",
                "parts": [{"type": "text", "text": question}],
                "created_at": created,
                "updated_at": created,
                "finished_at": created,
            }
            parts: list[dict[str, Any]] = [{"type": "step-start"}]
            if status != "pending":
                parts.append({"type": "text", "text": answer, "state": "done" if finished else "streaming"})
            assistant = {
                **common,
                "uuid": answer_uuid,
                "seq": 2,
                "type": "assistant",
                "status": status,
                "parts": parts,
                "integration_slug": "openai",
                "language_model_slug": "gpt-4o-mini",
                "max_steps": 20,
                "created_at": created,
                "updated_at": answered,
                "finished_at": answered if finished else None,
                "lease_expires_at": None if finished else LEASE_FOREVER,
            }
            if finished:
                assistant["usage"] = {
                    "inputTokensCount": input_tokens,
                    "outputTokensCount": output_tokens,
                    "tokensUsedCount": input_tokens + output_tokens,
                    "cacheReadTokensCount": 0,
                    "cacheWriteTokensCount": 0,
                    "reasoningTokensCount": 0,
                    "creditsUsedCount": credits,
                    "languageModelSlug": "gpt-4o-mini",
                    "connectorUuid": None,
                    "requestsCount": 1,
                    "isEstimated": status != "success",
                }
                reason = {"success": "stop", "error": "error", "cancelled": "other"}[status]
                assistant["meta"] = {"finishReason": reason}
                if status == "error":
                    assistant["error_message"] = "The model provider answered 529: overloaded"
            yield chat, user_message, assistant


def _prepare(url: str) -> None:
    """Refuse the shared `test` database; remove a SQLite file (and its WAL) to start empty."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.database == "test":
        raise SystemExit("refusing to seed the `test` database: use a database of its own (cargohold_bench)")
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


async def _reset(engine: AsyncEngine, url: str) -> None:
    if engine.dialect.name == "sqlite":
        return  # the file was removed before the engine opened it
    async with engine.begin() as conn:
        existing = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
        tables = [t.name for t in Base.metadata.sorted_tables if t.name in existing]
        if tables:
            await conn.execute(sa.text(f"TRUNCATE {', '.join(tables)} CASCADE"))


def _pg_record(row: dict[str, Any], columns: list[str], json_columns: set[str]) -> tuple[Any, ...]:
    return tuple(
        json.dumps(value, separators=(",", ":")) if c in json_columns and value is not None else value
        for c in columns
        for value in (row.get(c),)
    )


async def _copy(conn: AsyncConnection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """asyncpg binary COPY of `rows` into `table` (jsonb columns take their JSON text)."""
    columns = [c.name for c in table.columns]
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    await driver.copy_records_to_table(
        table.name, columns=columns, records=[_pg_record(r, columns, json_columns) for r in rows]
    )


async def seed(
    url: str, count: int, *, batch: int = 50_000, seed_value: int = 7, until: datetime | None = None
) -> SeedResult:
    """Empty the database (see the module's doc), then seed it. Returns the workspace seeded."""
    await asyncio.to_thread(_prepare, url)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        await upgrade(engine)
        await _reset(engine, url)
        sessions = make_session_factory(engine)
        async with sessions() as session, session.begin():
            workspace, admin = await create_workspace(session, "bench")
            others = [User(uuid=uuid.uuid4(), workspace_uuid=workspace.uuid, name=f"user {i}") for i in range(1, 10)]
            session.add_all(others)
        users = [admin.uuid, *(u.uuid for u in others)]
        rows = _Rows(count, workspace.uuid, users, until or datetime.now(UTC), seed_value)
        chats_t, messages_t = Chat.__table__, Message.__table__
        postgres = engine.dialect.name == "postgresql"
        for start in range(0, count, batch):
            chats: list[dict[str, Any]] = []
            messages: list[dict[str, Any]] = []
            for chat, question, answer in rows.chats(start, min(count, start + batch)):
                chats.append(chat)
                messages.append(question)
                messages.append(answer)
            async with engine.begin() as conn:
                if postgres:
                    await _copy(conn, chats_t, chats)
                    await _copy(conn, messages_t, messages)
                else:
                    await conn.execute(sa.insert(chats_t), chats)
                    await conn.execute(sa.insert(messages_t), messages)
            done = min(count, start + batch)
            print(f"  {done:>9,} chats  {time.perf_counter() - started:6.1f} s", flush=True)
        if postgres:  # VACUUM cannot run in a transaction; it also sets the visibility map
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(sa.text("VACUUM ANALYZE chats"))
                await conn.execute(sa.text("VACUUM ANALYZE messages"))
        else:
            async with engine.begin() as conn:
                await conn.execute(sa.text("ANALYZE"))
        return SeedResult(workspace.uuid, admin.uuid, count, time.perf_counter() - started)
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--chats", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=50_000, help="chats per transaction")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(seed(args.database_url, args.chats, batch=args.batch, seed_value=args.seed))
    print(
        f"seeded {result.chats:,} chats and {2 * result.chats:,} messages in workspace {result.workspace_uuid} "
        f"in {result.seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
