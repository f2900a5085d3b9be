"""Time `GET /v1/ai/chats/list` on a running `cargohold serve` over a seeded database, and print the
plan of the SQL behind each request.

    uv run python bench/seed_chats.py --database-url "$URL" --chats 100000
    CARGOHOLD_DATABASE_URL="$URL" uv run cargohold serve --port 8010 &
    TOKEN=$(CARGOHOLD_DATABASE_URL="$URL" uv run cargohold token create --name bench)
    uv run python bench/list_chats.py --base-url http://127.0.0.1:8010 --token "$TOKEN" --database-url "$URL" \
        --server-pid "$(pgrep -f 'cargohold serve --port 8010' | tail -1)"

For each case: `--warmup` untimed requests, then `--repeat` timed ones, one at a time (p50/p99 over
HTTP: auth, query, serialization, on this machine's loopback). The database is opened beside the
server only to pick filter values from the data (the token's workspace, its busiest agent, ...)
and for the plans: the SQL is captured by calling the very store function the route calls
(`cargohold.store.chats.list_chats`) with the case's filters, then run under `EXPLAIN QUERY PLAN`
(SQLite) or `EXPLAIN (ANALYZE, BUFFERS)` (PostgreSQL), and timed alone ("SQL ms": the query
without HTTP). With `--server-pid`, the server process's CPU time per request too: on a shared
machine that figure moves much less than latency does. Every response is checked: status 200, no
deleted chat, and every chat returned matches the filter.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from cargohold.db.tables import ApiToken, Chat
from cargohold.store.chats import ChatFilters, list_chats
from cargohold.store.workspaces import hash_token

Check = Callable[[dict[str, Any]], bool]


@dataclass(slots=True)
class Case:
    label: str
    filters: ChatFilters = field(default_factory=ChatFilters)
    offset: int = 0
    check: Check | None = None
    """What every returned chat must satisfy."""


@dataclass(slots=True)
class Data:
    """What the seeded workspace holds, read from the database."""

    workspace: uuid.UUID
    live: int
    agent: uuid.UUID
    agent_count: int
    release: uuid.UUID
    release_count: int
    user: uuid.UUID
    user_count: int
    oldest: datetime
    newest: datetime


@dataclass(slots=True)
class Result:
    case: Case
    http_ms: list[float]
    rows: int
    sql_ms: list[float]
    plan: list[str]
    server_cpu_ms: float | None
    """The server process's CPU time (all threads) per timed request, when its pid was given."""


def params_of(case: Case, limit: int) -> list[tuple[str, str]]:
    """The query string that makes the route build `case.filters` (see api/chats.py)."""
    f = case.filters
    out: list[tuple[str, str]] = [("limit", str(limit))]
    if case.offset:
        out.append(("offset", str(case.offset)))
    for key, value in (
        ("agentUuid", f.agent_uuid),
        ("releaseUuid", f.release_uuid),
        ("userUuid", f.user_uuid),
        ("triggerType", f.trigger_type),
        ("name", f.name),
    ):
        if value is not None:
            out.append((key, str(value)))
    out.extend(("messageStatuses[]", s) for s in f.message_statuses)
    if f.created_after:
        out.append(("createdAfter", f.created_after.isoformat()))
    if f.created_before:
        out.append(("createdBefore", f.created_before.isoformat()))
    return out


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def cases(d: Data, deep_offset: int) -> list[Case]:
    span = d.newest - d.oldest
    after = d.newest - span / 10
    before = d.oldest + span / 10
    window = (d.oldest + span / 2, d.oldest + span / 2 + timedelta(days=7))
    ag, rel, usr = str(d.agent), str(d.release), str(d.user)

    def status_in(*statuses: str) -> Check:
        return lambda c: (c["lastMessage"] or {}).get("status") in statuses

    def name_has(word: str) -> Check:
        return lambda c: word.lower() in (c["name"] or "").lower()

    return [
        Case("first page"),
        Case(f"offset {deep_offset:,}", offset=deep_offset),
        Case(
            f"agentUuid (busiest agent, {d.agent_count:,} chats)",
            ChatFilters(agent_uuid=d.agent),
            check=lambda c: c["agentUuid"] == ag,
        ),
        Case(
            f"releaseUuid ({d.release_count:,} chats)",
            ChatFilters(release_uuid=d.release),
            check=lambda c: c["releaseUuid"] == rel,
        ),
        Case(
            f"userUuid ({d.user_count:,} chats)",
            ChatFilters(user_uuid=d.user),
            check=lambda c: c["userUuid"] == usr,
        ),
        Case(
            "triggerType=draft (12%)",
            ChatFilters(trigger_type="draft"),
            check=lambda c: c["trigger"]["type"] == "draft",
        ),
        Case(
            "triggerType=schedule (2%)",
            ChatFilters(trigger_type="schedule"),
            check=lambda c: c["trigger"]["type"] == "schedule",
        ),
        Case("messageStatuses[]=error (4%)", ChatFilters(message_statuses=["error"]), check=status_in("error")),
        Case(
            "messageStatuses[]=pending,generating (1%)",
            ChatFilters(message_statuses=["pending", "generating"]),
            check=status_in("pending", "generating"),
        ),
        Case(
            "messageStatuses[]=success (92.5%)",
            ChatFilters(message_statuses=["success"]),
            check=status_in("success"),
        ),
        Case("name=renewal (common word, ~5%)", ChatFilters(name="renewal"), check=name_has("renewal")),
        Case("name=monarch air (rare, ~0.2%)", ChatFilters(name="monarch air"), check=name_has("monarch air")),
        Case("name=no-such-name (no match)", ChatFilters(name="no-such-name"), check=name_has("no-such-name")),
        Case(
            "createdAfter (newest 10% of the year)",
            ChatFilters(created_after=after),
            check=lambda c: _stamp(c["createdAt"]) > after,
        ),
        Case(
            "createdBefore (oldest 10% of the year)",
            ChatFilters(created_before=before),
            check=lambda c: _stamp(c["createdAt"]) < before,
        ),
        Case(
            "createdAfter+createdBefore (one week mid-year)",
            ChatFilters(created_after=window[0], created_before=window[1]),
            check=lambda c: window[0] < _stamp(c["createdAt"]) < window[1],
        ),
        Case(
            "agentUuid + messageStatuses[]=error",
            ChatFilters(agent_uuid=d.agent, message_statuses=["error"]),
            check=lambda c: c["agentUuid"] == ag and (c["lastMessage"] or {}).get("status") == "error",
        ),
    ]


async def discover(engine: AsyncEngine, token: str) -> Data:
    async with engine.connect() as conn:
        ws = (
            await conn.execute(sa.select(ApiToken.workspace_uuid).where(ApiToken.token_hash == hash_token(token)))
        ).scalar_one()
        live = sa.and_(Chat.workspace_uuid == ws, Chat.deleted_at.is_(None))

        async def busiest(col: Any, rank: int = 0) -> tuple[Any, int]:
            row = (
                await conn.execute(
                    sa.select(col, sa.func.count())
                    .where(live, col.is_not(None))
                    .group_by(col)
                    .order_by(sa.func.count().desc(), col)
                    .offset(rank)
                    .limit(1)
                )
            ).one()
            return row[0], row[1]

        count, oldest, newest = (
            await conn.execute(
                sa.select(sa.func.count(), sa.func.min(Chat.created_at), sa.func.max(Chat.created_at)).where(live)
            )
        ).one()
        agent, agent_count = await busiest(Chat.agent_uuid)
        release, release_count = await busiest(Chat.release_uuid)
        user, user_count = await busiest(Chat.user_uuid, 2)  # a mid-sized user, not the admin
    return Data(ws, count, agent, agent_count, release, release_count, user, user_count, oldest, newest)


async def capture(engine: AsyncEngine, workspace: uuid.UUID, case: Case, limit: int) -> tuple[str, Any]:
    """The SQL and driver parameters `store.chats.list_chats` sends for this case."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", grab)
    try:
        async with AsyncSession(engine) as session:
            await list_chats(session, workspace, case.filters, limit=limit, offset=case.offset)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
    selects = [s for s in seen if "FROM chats" in s[0]]
    return selects[-1]


async def plan_and_time(engine: AsyncEngine, sql: str, params: Any, repeat: int) -> tuple[list[str], list[float]]:
    sqlite = engine.dialect.name == "sqlite"
    async with engine.connect() as conn:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            (await conn.exec_driver_sql(sql, params)).fetchall()
            times.append((time.perf_counter() - started) * 1000)
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, BUFFERS) "
        rows = (await conn.exec_driver_sql(prefix + sql, params)).fetchall()
        await conn.rollback()
    plan = [f"{'  ' * _depth(rows, r)}{r[3]}" for r in rows] if sqlite else [r[0] for r in rows]
    return plan, times


def _depth(rows: list[Any], row: Any) -> int:
    """Nesting of an EXPLAIN QUERY PLAN row (id, parent, notused, detail)."""
    parents = {r[0]: r[1] for r in rows}
    depth, parent = 0, row[1]
    while parent:
        depth, parent = depth + 1, parents.get(parent, 0)
    return depth


def percentile(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    return sorted_ms[max(0, math.ceil(q * len(sorted_ms)) - 1)]


def cpu_seconds(pid: int | None) -> float:
    """utime + stime of a process, all its threads (Linux /proc)."""
    if pid is None:
        return 0.0
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def time_http(
    client: httpx.AsyncClient, case: Case, limit: int, warmup: int, repeat: int, server_pid: int | None
) -> tuple[list[float], int, float | None]:
    params = params_of(case, limit)
    times, rows = [], 0
    cpu_before = 0.0
    for i in range(warmup + repeat):
        if i == warmup:
            cpu_before = cpu_seconds(server_pid)
        started = time.perf_counter()
        response = await client.get("/v1/ai/chats/list", params=params)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{case.label}: {response.status_code} {response.text[:300]}")
        chats = response.json()["chats"]
        if i >= warmup:
            times.append(elapsed)
        rows = len(chats)
        bad = [c["uuid"] for c in chats if c["deletedAt"] is not None or (case.check and not case.check(c))]
        if bad:
            raise RuntimeError(f"{case.label}: chats that do not match the filter: {bad[:3]}")
    cpu_ms = (cpu_seconds(server_pid) - cpu_before) * 1000 / repeat if server_pid is not None else None
    return sorted(times), rows, cpu_ms


def load_average() -> str:
    return (
        subprocess.run(["uptime"], capture_output=True, text=True, check=False)
        .stdout.strip()
        .split("load average:")[-1]
        .strip()
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--token", default=os.environ.get("CARGOHOLD_TOKEN"), help="default: $CARGOHOLD_TOKEN")
    parser.add_argument("--database-url", required=True, help="the database the server runs on")
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--deep-offset", type=int, default=None, help="default: half the live chats")
    parser.add_argument("--only", default=None, help="run only the cases whose label contains this")
    parser.add_argument("--plans", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--server-pid", type=int, default=None, help="the server's pid: report its CPU time per request"
    )
    args = parser.parse_args()
    if not args.token:
        parser.error("--token or $CARGOHOLD_TOKEN is needed (uv run cargohold token create)")

    engine = create_async_engine(args.database_url)
    data = await discover(engine, args.token)
    deep = args.deep_offset if args.deep_offset is not None else (data.live // 2 // 1000) * 1000
    selected = [c for c in cases(data, deep) if not args.only or args.only.lower() in c.label.lower()]
    print(
        f"{engine.dialect.name}: workspace {data.workspace}, {data.live:,} live chats; "
        f"limit {args.limit}, {args.warmup} warm-up + {args.repeat} timed requests per row; "
        f"{os.cpu_count()} CPUs; load average before: {load_average()}"
    )
    results: list[Result] = []
    async with httpx.AsyncClient(
        base_url=args.base_url, headers={"Authorization": f"Bearer {args.token}"}, timeout=120
    ) as client:
        for case in selected:
            http_ms, rows, cpu_ms = await time_http(client, case, args.limit, args.warmup, args.repeat, args.server_pid)
            plan: list[str] = []
            sql_ms: list[float] = []
            if args.plans:
                sql, params = await capture(engine, data.workspace, case, args.limit)
                plan, sql_ms = await plan_and_time(engine, sql, params, max(5, args.repeat // 5))
                sql_ms.sort()
            results.append(Result(case, http_ms, rows, sql_ms, plan, cpu_ms))
            print(f"  {case.label}: p50 {statistics.median(http_ms):.1f} ms", flush=True)
    print(f"load average after: {load_average()}\n")
    print(
        "| query | HTTP p50 ms | HTTP p99 ms | server CPU ms/request | SQL alone p50 ms | rows |\n"
        "|---|---:|---:|---:|---:|---:|"
    )
    for r in results:
        sql = f"{statistics.median(r.sql_ms):.1f}" if r.sql_ms else "-"
        cpu = f"{r.server_cpu_ms:.1f}" if r.server_cpu_ms is not None else "-"
        print(
            f"| {r.case.label} | {statistics.median(r.http_ms):.1f} | {percentile(r.http_ms, 0.99):.1f} | {cpu} "
            f"| {sql} | {r.rows} |"
        )
    if args.plans:
        sql, _ = await capture(engine, data.workspace, replace(selected[0]), args.limit)
        print(f"\nSQL of `{selected[0].label}` (store/chats.py list_chats):\n{sql}")
        for r in results:
            print(f"\nplan: {r.case.label}")
            for line in r.plan:
                print(f"    {line}")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
