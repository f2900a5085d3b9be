"""Stream N turns against the offline model and report chunks per second and time to first chunk.

    uv run python bench/stream_turns.py --turns 200 --concurrency 10

Starts `cargohold serve` in a child process on a fresh SQLite file (or the URLs you pass), with
the offline model at full speed (no token delay), and drives it over HTTP from this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import socket
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass

import httpx


@dataclass
class TurnResult:
    ttfc: float
    chunks: int
    seconds: float
    ok: bool


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def start_server(env: dict[str, str], port: int) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cargohold",
        "serve",
        "--port",
        str(port),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    token = ""
    assert proc.stderr is not None
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
        if not line:
            raise SystemExit("server exited during startup")
        if m := re.search(r"(chk_\S+)", line):
            token = m.group(1)
        if "Application startup complete" in line:
            break
    asyncio.get_running_loop().create_task(_drain(proc))
    return proc, token


async def _drain(proc: asyncio.subprocess.Process) -> None:
    assert proc.stderr is not None
    while await proc.stderr.readline():
        pass


async def one_turn(client: httpx.AsyncClient, text: str) -> TurnResult:
    body = {"chatUuid": str(uuid.uuid4()), "parts": [{"type": "text", "text": text}], "integrationSlug": "offline"}
    start = time.perf_counter()
    ttfc = 0.0
    chunks = 0
    ok = False
    async with client.stream("POST", "/v1/ai/messages/stream", json=body) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            if chunks == 0:
                ttfc = time.perf_counter() - start
            chunks += 1
            if line == "data: [DONE]":
                ok = response.status_code == 200
    return TurnResult(ttfc, chunks, time.perf_counter() - start, ok)


async def make_token(url: str) -> str:
    from cargohold.db.engine import make_engine, make_session_factory
    from cargohold.db.migrate import upgrade
    from cargohold.store.workspaces import create_token, create_workspace

    engine = make_engine(url)
    await upgrade(engine)
    async with make_session_factory(engine)() as session, session.begin():
        _, user = await create_workspace(session, f"bench-{uuid.uuid4().hex[:6]}")
        token = await create_token(session, user)
    await engine.dispose()
    return token


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--prompt", default="Tell me about cargohold and what you can do for me today.")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="cargohold-bench-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}
    env |= {
        "CARGOHOLD_DATABASE_URL": args.database_url or f"sqlite+aiosqlite:///{tmp}/bench.db",
        "CARGOHOLD_OFFLINE_TOKEN_DELAY": "0",
        "CARGOHOLD_BUILTIN_TOOLS": "[]",
    }
    if args.redis_url:
        env["CARGOHOLD_REDIS_URL"] = args.redis_url
        env["CARGOHOLD_REDIS_PREFIX"] = f"bench-{uuid.uuid4().hex[:8]}"
    token = await make_token(env["CARGOHOLD_DATABASE_URL"])
    port = free_port()
    proc, _ = await start_server(env, port)
    results: list[TurnResult] = []
    try:
        limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            limits=limits,
            timeout=120,
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            await one_turn(client, "warm up")
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(args.turns):
                queue.put_nowait(i)

            async def worker() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    results.append(await one_turn(client, args.prompt))

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            wall = time.perf_counter() - started
    finally:
        proc.terminate()
        await proc.wait()

    chunks = sum(r.chunks for r in results)
    ttfcs = [r.ttfc * 1000 for r in results]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        f"database: {env['CARGOHOLD_DATABASE_URL'].split('://')[0]}, broker: {'redis' if args.redis_url else 'memory'}"
    )
    print(f"turns: {len(results)} (errors: {sum(not r.ok for r in results)}), concurrency: {args.concurrency}")
    print(
        f"wall: {wall:.2f} s, turns/s: {len(results) / wall:.1f}, chunks/s: {chunks / wall:.0f} "
        f"({chunks / len(results):.0f} chunks per turn)"
    )
    print(f"time to first chunk: p50 {statistics.median(ttfcs):.1f} ms, p99 {pct(ttfcs, 0.99):.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
