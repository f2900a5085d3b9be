"""Streamed-turn load against cargohold, side by side with a bare relay on the same stack.

    uv run python bench/load.py --targets bare,sqlite,pg-redis,pg-redis-x2 \\
        --scenario 1x50 --scenario 10x20 --tokens 50 --tps 0
    uv run python bench/load.py rss --target sqlite --streams 1000
    uv run python bench/load.py failover --kills 5     # Temporal: a worker's death -> the turn goes on

`run` (the default): starts a fake OpenAI-compatible LLM (`bench/fake_llm.py`), then each target
in turn, and drives C concurrent clients x T turns per scenario (`CxT`). Each turn posts a new
message and reads the whole UI message stream; with `--chat-mode new` (default) every turn opens
a new chat, with `same` each client sends its T turns into one chat, one after the other.

Targets (each a child process on a free port, started fresh for the run):
  bare         bench/bare_relay.py: httpx -> SSE, no storage (the baseline; ratios divide by it)
  sqlite       cargohold serve, SQLite file + in-process broker
  sqlite-before the same, from the checkout at BENCH_BEFORE_SRC (before/after a change in one run)
  pg-redis     cargohold serve, PostgreSQL (cargohold_a, reset first) + Redis (prefix bench-a)
  pg-redis-x2  two cargohold serve processes on that PostgreSQL + Redis; turns round-robin
  pg-redis-temporal  pg-redis with CARGOHOLD_TEMPORAL_ADDRESS: a Temporal dev server (`temporal
               server start-dev`), one cargohold serve (starts workflows, runs no turn) and one
               `cargohold worker` (runs them)
  langgraph    bench/peer_langgraph (run.sh + client.py), when present

cargohold runs the real provider path (pydantic-ai + openai SDK) against the fake LLM. Reported:
turns/s and chunks/s, time to first chunk (request sent -> first `text-delta`) p50/p99, errors
(status, exception, no `[DONE]`, or streamed text != the fake LLM's reply), LOST (after the run,
every assistant message is read back through the API and must be `success` with the full text),
server CPU ms per turn, and the 1-minute load average before/after each scenario.

`--interleave`: every target is started at once, and each scenario's turns alternate between the
targets (round r: `clients` concurrent turns on each target, in an order rotated every round), so
a machine whose speed drifts during the run (shared VMs) slows every target alike: the way to
compare `sqlite` with `sqlite-before`. `pg-redis*` targets share one database: not with each other.

`rss`: RSS per open stream. Opens N streams (all at once, or `--ramp` per second) on one server
process against a slow fake LLM (so they stay open), samples VmRSS from /proc/<pid>/status every
0.2 s, and reports (VmRSS - VmRSS before) / streams open, at the RSS peak and at the moment the
most streams were open, and VmHWM. LOST is checked as in `run`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import importlib
import json
import os
import platform
import re
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from fake_llm import full_text  # noqa: E402

PG_URL = os.environ.get("BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/cargohold_a")
"""Dropped and recreated by every pg-redis run: a database of the benchmark's own."""
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_PREFIX = "bench-a"
MODEL = "gpt-4o-mini"
PROMPT = "Tell me about cargohold and what you can do for me today."
SECRET_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode()  # a Fernet key, for this run's processes
TARGETS = ("bare", "sqlite", "sqlite-before", "pg-redis", "pg-redis-x2", "pg-redis-temporal", "langgraph")
BEFORE_SRC = os.environ.get("BENCH_BEFORE_SRC")
"""`sqlite-before`: the same server from another checkout's `src/` (e.g. `git worktree add /tmp/before
<commit>`, then BENCH_BEFORE_SRC=/tmp/before/src), so a change is measured before/after in one run."""
_CLK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(c) for c in f.read().split()]
    return found


def descendants(pid: int) -> list[int]:
    out = [pid]
    for child in _children(pid):
        out += descendants(child)
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _CLK
    return total


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


@dataclass
class Child:
    """A child process in its own session, so stopping it stops its children (uv -> python)."""

    name: str
    proc: asyncio.subprocess.Process
    log: list[str] = field(default_factory=list)

    @property
    def pids(self) -> list[int]:
        return descendants(self.proc.pid)

    @property
    def leaf(self) -> int:
        """The process doing the work (python under `uv run`)."""
        pid = self.proc.pid
        while kids := _children(pid):
            pid = kids[0]
        return pid

    async def wait_for_line(self, pattern: str, within: float = 90) -> re.Match[str]:
        assert self.proc.stderr is not None
        deadline = time.monotonic() + within
        while True:
            raw = await asyncio.wait_for(self.proc.stderr.readline(), max(0.1, deadline - time.monotonic()))
            if not raw:
                raise RuntimeError(f"{self.name} exited during startup:\n" + "".join(self.log[-30:]))
            line = raw.decode(errors="replace")
            self.log.append(line)
            if m := re.search(pattern, line):
                return m

    def drain(self) -> None:
        async def _drain() -> None:
            assert self.proc.stderr is not None
            while raw := await self.proc.stderr.readline():
                self.log.append(raw.decode(errors="replace"))
                del self.log[:-200]

        asyncio.get_running_loop().create_task(_drain())

    async def stop(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                await self.proc.wait()


async def spawn(name: str, argv: list[str], env: dict[str, str] | None = None) -> Child:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    return Child(name, proc)


async def start_fake_llm(tokens: int, tps: float, ttft_ms: float) -> tuple[Child, str]:
    port = free_port()
    argv = [sys.executable, str(BENCH / "fake_llm.py"), "--port", str(port), "--tokens", str(tokens)]
    child = await spawn("fake-llm", [*argv, "--tps", str(tps), "--ttft-ms", str(ttft_ms)])
    await _wait_port(port)
    child.drain()
    return child, f"http://127.0.0.1:{port}/v1"


async def _wait_port(port: int, within: float = 60) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


# ---------------------------------------------------------------- targets

TurnFn = Callable[[httpx.AsyncClient, str, str | None], Awaitable["TurnResult"]]


@dataclass
class Target:
    name: str
    base_urls: list[str]
    children: list[Child]
    token: str | None = None
    stores: bool = True
    """cargohold: every turn is stored and checked for LOST after the run."""
    peer_turn: Callable[[httpx.AsyncClient, str, str], Awaitable[tuple[float | None, int]]] | None = None
    worker_env: dict[str, str] | None = None
    """pg-redis-temporal: the environment a `cargohold worker` is started with."""

    def stream_url(self, base: str) -> str:
        return f"{base}/v1/ai/messages/stream" if self.stores else base

    @property
    def server_pids(self) -> list[int]:
        return [pid for child in self.children for pid in child.pids]

    async def stop(self) -> None:
        for child in self.children:
            await child.stop()


def cargohold_env(llm_url: str, database_url: str, redis_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}
    env |= {
        "CARGOHOLD_DATABASE_URL": database_url,
        "CARGOHOLD_OPENAI_BASE_URL": llm_url,
        "CARGOHOLD_OPENAI_API_KEY": "x",
        "CARGOHOLD_DEFAULT_MODEL": f"openai:{MODEL}",
        "CARGOHOLD_BUILTIN_TOOLS": "[]",
        "CARGOHOLD_BOOTSTRAP": "true",
        # PostgreSQL needs one key shared by every process of the run (SQLite makes its own).
        "CARGOHOLD_SECRET_KEY": os.environ.get("CARGOHOLD_SECRET_KEY") or SECRET_KEY,
    }
    if redis_url:
        env |= {"CARGOHOLD_REDIS_URL": redis_url, "CARGOHOLD_REDIS_PREFIX": REDIS_PREFIX}
    return env


async def reset_postgres_and_redis() -> None:
    """A fresh schema in our own database and no keys under our own prefix: runs are comparable."""
    import asyncpg
    import redis.asyncio as redis

    conn = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    client = redis.from_url(REDIS_URL)
    async for key in client.scan_iter(f"{REDIS_PREFIX}:*", count=1000):
        await client.delete(key)
    await client.aclose()


async def start_cargohold(env: dict[str, str], processes: int, name: str) -> Target:
    children: list[Child] = []
    urls: list[str] = []
    token: str | None = None
    for _ in range(processes):  # one after the other: each migrates on start
        port = free_port()
        child = await spawn(name, ["uv", "run", "cargohold", "serve", "--host", "127.0.0.1", "--port", str(port)], env)
        children.append(child)
        match = await child.wait_for_line(r"(chk_\S+)|Application startup complete")
        if match.group(1):
            token = match.group(1)
            await child.wait_for_line(r"Application startup complete")
        child.drain()
        urls.append(f"http://127.0.0.1:{port}")
    if token is None:
        token = await _token_create(env)
    return Target(name, urls, children, token=token)


async def start_temporal_target(env: dict[str, str], tmp: str, workers: int, heartbeat: float = 5.0) -> Target:
    """A Temporal dev server, one API instance that starts workflows, and `workers` workers."""
    port = free_port()
    dev = ["start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port), "--db-filename", f"{tmp}/t{port}.db"]
    temporal = await spawn("temporal", ["uv", "run", "temporal", "server", *dev, "--log-level", "warn"])
    await _wait_port(port, within=120)
    temporal.drain()
    env = env | {
        "CARGOHOLD_TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
        "CARGOHOLD_TEMPORAL_HEARTBEAT_SECONDS": str(heartbeat),
    }
    target = await start_cargohold(env, 1, "pg-redis-temporal")
    target.worker_env = env
    for i in range(workers):
        worker = await spawn(f"worker-{i + 1}", ["uv", "run", "cargohold", "worker"], env)
        await worker.wait_for_line(r"polling task queue", within=300)
        worker.drain()
        target.children.append(worker)
    target.children.append(temporal)
    return target


async def _token_create(env: dict[str, str]) -> str:
    proc = await asyncio.create_subprocess_exec(
        "uv", "run", "cargohold", "token", "create", "--name", "bench", env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    return out.decode().strip().splitlines()[-1]


async def start_bare(llm_url: str) -> Target:
    port = free_port()
    argv = [sys.executable, str(BENCH / "bare_relay.py"), "--port", str(port), "--llm-base-url", llm_url]
    child = await spawn("bare", [*argv, "--model", MODEL])
    await _wait_port(port)
    child.drain()
    return Target("bare", [f"http://127.0.0.1:{port}"], [child], stores=False)


def langgraph_available() -> bool:
    peer = BENCH / "peer_langgraph"
    return (peer / "run.sh").exists() and (peer / "client.py").exists()


async def start_langgraph(llm_url: str) -> Target:
    peer = BENCH / "peer_langgraph"
    port = free_port()
    child = await spawn("langgraph", ["bash", str(peer / "run.sh"), str(port), llm_url])
    child.drain()
    await _wait_port(port, within=180)
    sys.path.insert(0, str(peer))
    client = importlib.import_module("client")
    return Target("langgraph", [f"http://127.0.0.1:{port}"], [child], stores=False, peer_turn=client.langgraph_turn)


async def start_target(name: str, llm_url: str, tmp: str) -> Target:
    if name == "bare":
        return await start_bare(llm_url)
    if name == "langgraph":
        return await start_langgraph(llm_url)
    if name in ("sqlite", "sqlite-before"):
        db = f"sqlite+aiosqlite:///{tmp}/bench-{uuid.uuid4().hex[:6]}.db"
        env = cargohold_env(llm_url, db, None)
        if name == "sqlite-before":
            if not BEFORE_SRC:
                raise SystemExit("sqlite-before needs BENCH_BEFORE_SRC=<another checkout>/src")
            env["PYTHONPATH"] = BEFORE_SRC
        return await start_cargohold(env, 1, name)
    await reset_postgres_and_redis()
    if name == "pg-redis-temporal":
        return await start_temporal_target(cargohold_env(llm_url, PG_URL, REDIS_URL), tmp, workers=1)
    processes = 2 if name == "pg-redis-x2" else 1
    return await start_cargohold(cargohold_env(llm_url, PG_URL, REDIS_URL), processes, name)


# ---------------------------------------------------------------- one turn


@dataclass
class TurnResult:
    ttfc: float | None
    chunks: int
    ok: bool
    error: str | None = None


async def stream_turn(
    client: httpx.AsyncClient, url: str, chat_uuid: str, expected: str, on_open: Callable[[int], None] | None = None
) -> TurnResult:
    """POST one message and read its UI message stream. TTFC: request sent -> first text-delta.
    `on_open(+1)` when the response starts, `on_open(-1)` when it ends (open-stream count)."""
    body = {"chatUuid": chat_uuid, "parts": [{"type": "text", "text": PROMPT}]}
    started = time.perf_counter()
    async with client.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            await response.aread()
            return TurnResult(None, 0, False, f"HTTP {response.status_code}: {response.text[:200]}")
        if on_open:
            on_open(1)
        try:
            read = await read_ui_stream(response.aiter_raw(), started)
        finally:
            if on_open:
                on_open(-1)
    if not read.done:
        return TurnResult(read.ttfc, read.chunks, False, "stream ended without [DONE]")
    if read.text != expected:
        why = f"streamed text differs ({len(read.text)} chars)" + (f": {read.error}" if read.error else "")
        return TurnResult(read.ttfc, read.chunks, False, why)
    return TurnResult(read.ttfc, read.chunks, True)


@dataclass
class StreamRead:
    ttfc: float | None = None
    chunks: int = 0
    done: bool = False
    text: str = ""
    error: str | None = None
    """The errorText of an `error` chunk, if any."""


async def read_ui_stream(body: AsyncIterator[bytes], started: float) -> StreamRead:
    """Count `data:` lines; only text-deltas are parsed (the load generator shares the CPU)."""
    read = StreamRead()
    deltas: list[str] = []
    buffer = b""
    async for raw in body:
        buffer += raw
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            if not line.startswith(b"data: "):
                continue
            read.chunks += 1
            if line.startswith(b'data: {"type":"text-delta"'):
                if read.ttfc is None:
                    read.ttfc = time.perf_counter() - started
                deltas.append(json.loads(line[6:])["delta"])
            elif line == b"data: [DONE]":
                read.done = True
            elif line.startswith(b'data: {"type":"error"'):
                read.error = str(json.loads(line[6:]).get("errorText"))[:300]
    read.text = "".join(deltas)
    return read


# ---------------------------------------------------------------- a scenario


@dataclass
class Scenario:
    clients: int
    turns: int

    @classmethod
    def parse(cls, text: str) -> Scenario:
        clients, _, turns = text.lower().partition("x")
        return cls(int(clients), int(turns))

    def __str__(self) -> str:
        return f"{self.clients}x{self.turns}"


@dataclass
class Row:
    target: str
    scenario: str
    turns: int
    wall: float
    chunks: int
    ttfcs: list[float]
    errors: int
    lost: int | None
    server_cpu: float
    load_before: float
    load_after: float
    first_error: str | None = None

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.wall

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.wall

    def ttfc_ms(self, q: float) -> float:
        return pct(self.ttfcs, q) * 1000 if self.ttfcs else float("nan")


def pct(values: list[float], q: float) -> float:
    if q == 0.5:
        return statistics.median(values)
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def http_client(target: Target, connections: int) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(limits=limits, timeout=300, headers=headers)


async def one_turn(
    target: Target, client: httpx.AsyncClient, base: str, chat: str, sent: dict[str, int], expected: str
) -> TurnResult:
    """One turn on `target` at `base` into `chat` (counted in `sent`, chat uuid -> turns sent to
    it); whatever fails is a failed `TurnResult`."""
    try:
        if target.peer_turn is not None:
            ttfc, n = await target.peer_turn(client, base, PROMPT)
            return TurnResult(ttfc, n, True)
        sent[chat] = sent.get(chat, 0) + 1
        return await stream_turn(client, target.stream_url(base), chat, expected)
    except Exception as exc:
        return TurnResult(None, 0, False, f"{type(exc).__name__}: {exc}")


def make_row(
    target: Target,
    scenario: str,
    results: list[TurnResult],
    *,
    wall: float,
    server_cpu: float,
    lost: int | None,
    load_before: float,
) -> Row:
    errors = [r for r in results if not r.ok]
    return Row(
        target=target.name,
        scenario=scenario,
        turns=len(results),
        wall=wall,
        chunks=sum(r.chunks for r in results),
        ttfcs=[r.ttfc for r in results if r.ttfc is not None],
        errors=len(errors),
        lost=lost,
        server_cpu=server_cpu,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        first_error=errors[0].error if errors else None,
    )


async def run_scenario(target: Target, scenario: Scenario, expected: str, chat_mode: str) -> Row:
    sent: dict[str, int] = {}
    results: list[TurnResult] = []
    counter = iter(range(10**9))
    load_before = os.getloadavg()[0]
    async with http_client(target, scenario.clients * 2) as client:

        async def user() -> None:
            chat = str(uuid.uuid4())
            for _ in range(scenario.turns):
                base = target.base_urls[next(counter) % len(target.base_urls)]  # round-robin per turn
                turn_chat = chat if chat_mode == "same" else str(uuid.uuid4())
                results.append(await one_turn(target, client, base, turn_chat, sent, expected))

        cpu_before = cpu_seconds(target.server_pids)
        started = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(scenario.clients)))
        wall = time.perf_counter() - started
        server_cpu = cpu_seconds(target.server_pids) - cpu_before
        lost = await count_lost(client, target, sent, expected) if target.stores else None
    return make_row(
        target, str(scenario), results, wall=wall, server_cpu=server_cpu, lost=lost, load_before=load_before
    )


async def run_interleaved(targets: list[Target], scenario: Scenario, expected: str) -> list[Row]:
    """`--interleave`: every target runs at once, and the scenario's turns take turns between
    them: round r runs `clients` concurrent turns on each target in a rotating order, so a drift
    of the machine's speed during the run falls on every target alike. Server CPU is counted
    over each target's own rounds."""
    results: dict[str, list[TurnResult]] = {t.name: [] for t in targets}
    sent: dict[str, dict[str, int]] = {t.name: {} for t in targets}
    cpu = dict.fromkeys(results, 0.0)
    wall = dict.fromkeys(results, 0.0)
    load_before = os.getloadavg()[0]
    clients = {t.name: http_client(t, scenario.clients * 2) for t in targets}
    try:
        for r in range(scenario.turns):
            for target in targets[r % len(targets) :] + targets[: r % len(targets)]:
                turns = (
                    one_turn(
                        target,
                        clients[target.name],
                        target.base_urls[0],
                        str(uuid.uuid4()),
                        sent[target.name],
                        expected,
                    )
                    for _ in range(scenario.clients)
                )
                cpu_before, started = cpu_seconds(target.server_pids), time.perf_counter()
                results[target.name] += await asyncio.gather(*turns)
                wall[target.name] += time.perf_counter() - started
                cpu[target.name] += cpu_seconds(target.server_pids) - cpu_before
        rows = []
        for target in targets:
            lost = (
                await count_lost(clients[target.name], target, sent[target.name], expected) if target.stores else None
            )
            rows.append(
                make_row(
                    target,
                    f"{scenario} interleaved",
                    results[target.name],
                    wall=wall[target.name],
                    server_cpu=cpu[target.name],
                    lost=lost,
                    load_before=load_before,
                )
            )
        return rows
    finally:
        for client in clients.values():
            await client.aclose()


async def count_lost(client: httpx.AsyncClient, target: Target, sent: dict[str, int], expected: str) -> int:
    """Assistant messages that are not stored `success` with the full text, read back via the API.
    Unfinished ones are given up to 30 s in all to finish."""
    lost = 0
    base = target.base_urls[0]
    deadline = time.monotonic() + 30
    for chat, turns in sent.items():
        while True:
            assistants = [m for m in await list_messages(client, base, chat) if m.get("type") == "assistant"]
            unfinished = [m for m in assistants if m.get("status") in ("pending", "generating")]
            if not unfinished or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        good = sum(1 for m in assistants if m.get("status") == "success" and message_text(m) == expected)
        lost += max(0, turns - good)
    return lost


async def list_messages(client: httpx.AsyncClient, base: str, chat: str) -> list[dict[str, Any]]:
    for attempt in range(3):  # a pooled keep-alive connection the server just closed fails once
        try:
            response = await client.get(f"{base}/v1/ai/messages/list", params={"chatUuid": chat, "limit": 500})
            return list(response.json().get("messages", [])) if response.status_code == 200 else []
        except httpx.TransportError:
            if attempt == 2:
                raise
            await asyncio.sleep(0.2)
    return []


def message_text(message: dict[str, Any]) -> str:
    return "".join(p.get("text", "") for p in message.get("parts") or [] if p.get("type") == "text")


async def warm_up(target: Target, expected: str) -> None:
    """First turns import the provider SDK and fill pools: not measured."""
    row = await run_scenario(
        target, Scenario(3 * len(target.base_urls), 1), expected, "new"
    )  # at once: LLM may be slow
    if row.errors:
        raise RuntimeError(f"{target.name}: warm-up failed: {row.first_error}")


# ---------------------------------------------------------------- report


def machine() -> str:
    with open("/proc/meminfo") as f:
        mem_gib = int(f.readline().split()[1]) / 2**20
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )


def table(rows: list[Row]) -> str:
    bare = {r.scenario: r for r in rows if r.target == "bare"}
    out = [
        "| target | clients x turns | turns/s | x bare | chunks/s | TTFC p50 / p99 ms | TTFC added p50 ms "
        "| server CPU ms/turn | errors | lost | load 1m before/after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = bare.get(r.scenario)
        ratio = f"{r.turns_per_s / base.turns_per_s:.2f}" if base else "-"
        added = f"{r.ttfc_ms(0.5) - base.ttfc_ms(0.5):+.1f}" if base and r is not base else "-"
        out.append(
            f"| {r.target} | {r.scenario} | {r.turns_per_s:.1f} | {ratio} | {r.chunks_per_s:,.0f} "
            f"| {r.ttfc_ms(0.5):.1f} / {r.ttfc_ms(0.99):.1f} | {added} | {r.server_cpu / r.turns * 1000:.1f} "
            f"| {r.errors} | {'-' if r.lost is None else r.lost} | {r.load_before:.2f} / {r.load_after:.2f} |"
        )
    return "\n".join(out)


# ---------------------------------------------------------------- commands


async def start_py_spy(folder: str | None, target: Target, scenario: Scenario) -> Child | None:
    """`py-spy record` on the target's first server process (collapsed stacks), when asked."""
    if not folder:
        return None
    os.makedirs(folder, exist_ok=True)
    out = os.path.join(folder, f"{target.name}-{scenario}.txt")
    pid = str(target.children[0].leaf)
    argv = [
        "uv",
        "tool",
        "run",
        "py-spy",
        "record",
        "-p",
        pid,
        "-r",
        "250",
        "-f",
        "raw",
        "-o",
        out,
        "--nonblocking",
        "--gil",
    ]
    child = await spawn("py-spy", argv)
    await asyncio.sleep(1.5)  # attached
    child.drain()
    return child


async def stop_py_spy(child: Child | None) -> None:
    if child is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.proc.pid, signal.SIGINT)
        await asyncio.wait_for(child.proc.wait(), 60)


def save_json(path: str, rows: list[Row]) -> None:
    Path(path).write_text(json.dumps([r.__dict__ for r in rows], indent=1))


async def cmd_run(args: argparse.Namespace) -> None:
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if "langgraph" in targets and not langgraph_available():
        print("langgraph: bench/peer_langgraph/run.sh and client.py not found; skipped", file=sys.stderr)
        targets.remove("langgraph")
    scenarios = [Scenario.parse(s) for s in args.scenario or ["1x50", "10x20"]]
    expected = full_text(args.tokens)
    tmp = tempfile.mkdtemp(prefix="cargohold-load-")
    llm, llm_url = await start_fake_llm(args.tokens, args.tps, args.ttft_ms)
    rows: list[Row] = []
    own_cpu = resource.getrusage(resource.RUSAGE_SELF)
    if args.interleave:
        await _interleaved(targets, scenarios, expected, llm_url, tmp, rows)
        targets = []
    try:
        for name in targets:
            target = await start_target(name, llm_url, tmp)
            try:
                await warm_up(target, expected)
                for scenario in scenarios:
                    profiler = await start_py_spy(args.py_spy, target, scenario)
                    row = await run_scenario(target, scenario, expected, args.chat_mode)
                    await stop_py_spy(profiler)
                    rows.append(row)
                    print(table([row]).splitlines()[-1], file=sys.stderr, flush=True)
                    if row.first_error:
                        print(f"  first error: {row.first_error}", file=sys.stderr)
            finally:
                await target.stop()
    finally:
        await llm.stop()
    used = resource.getrusage(resource.RUSAGE_SELF)
    print(f"machine: {machine()}")
    print(
        f"fake LLM: {args.tokens} tokens, tps {args.tps or 'unbounded'}, ttft {args.ttft_ms:g} ms; "
        f"chat mode: {args.chat_mode}; load generator CPU: "
        f"{used.ru_utime + used.ru_stime - own_cpu.ru_utime - own_cpu.ru_stime:.1f} s"
    )
    print(table(rows))
    if args.json:
        save_json(args.json, rows)


async def _interleaved(
    names: list[str], scenarios: list[Scenario], expected: str, llm_url: str, tmp: str, rows: list[Row]
) -> None:
    started: list[Target] = []
    try:
        for name in names:
            started.append(await start_target(name, llm_url, tmp))
            await warm_up(started[-1], expected)
        for scenario in scenarios:
            for row in await run_interleaved(started, scenario, expected):
                rows.append(row)
                print(table([row]).splitlines()[-1], file=sys.stderr, flush=True)
    finally:
        for target in started:
            await target.stop()


async def cmd_rss(args: argparse.Namespace) -> None:
    expected = full_text(args.tokens)
    tmp = tempfile.mkdtemp(prefix="cargohold-rss-")
    llm, llm_url = await start_fake_llm(args.tokens, args.tps, args.ttft_ms)
    try:
        target = await start_target(args.target, llm_url, tmp)
        try:
            await warm_up(target, expected)
            await measure_rss(target, args.streams, expected, args.ramp)
        finally:
            await target.stop()
    finally:
        await llm.stop()


async def measure_rss(target: Target, streams: int, expected: str, ramp: float) -> None:
    """RSS is sampled every 0.2 s while N streams run; `peak` is the highest sample, and
    `open at peak` how many streams had their headers and no `[DONE]` yet at that moment."""
    pid = target.children[0].leaf
    before = status_kib(pid, "VmRSS")
    peak, open_at_peak, open_now = before, 0, 0
    most_open, rss_at_most_open = 0, before
    results: list[TurnResult] = []
    sent: dict[str, int] = {}
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak, open_at_peak, most_open, rss_at_most_open
        while not stop.is_set():
            rss = status_kib(pid, "VmRSS")
            if rss > peak:
                peak, open_at_peak = rss, open_now
            if open_now > most_open or (open_now == most_open and rss > rss_at_most_open):
                most_open, rss_at_most_open = open_now, rss
            await asyncio.sleep(0.2)

    def on_open(delta: int) -> None:
        nonlocal open_now
        open_now += delta

    async with http_client(target, streams + 10) as client:
        url = target.stream_url(target.base_urls[0])

        async def one(i: int) -> None:
            if ramp:
                await asyncio.sleep(i / ramp)
            chat = str(uuid.uuid4())
            sent[chat] = 1
            try:
                results.append(await stream_turn(client, url, chat, expected, on_open))
            except Exception as exc:
                results.append(TurnResult(None, 0, False, f"{type(exc).__name__}: {exc}"))

        sampler = asyncio.create_task(sample())
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(streams)))
        stop.set()
        await sampler
        wall = time.perf_counter() - started
        hwm = status_kib(pid, "VmHWM")
        lost = await count_lost(client, target, sent, expected) if target.stores else None
    errors = [r for r in results if not r.ok]
    print(f"machine: {machine()}")
    print(
        f"{target.name}: {streams} streams ({f'{ramp:g}/s' if ramp else 'all at once'}) in {wall:.1f} s, "
        f"{open_at_peak} open at the RSS peak; VmRSS before "
        f"{before / 1024:.1f} MiB, peak {peak / 1024:.1f} MiB (VmHWM {hwm / 1024:.1f} MiB): "
        f"{(peak - before) / max(1, open_at_peak):.1f} KiB per open stream; with the most streams open "
        f"({most_open}): VmRSS {rss_at_most_open / 1024:.1f} MiB, {(rss_at_most_open - before) / max(1, most_open):.1f} "
        f"KiB per open stream; errors {len(errors)}, lost {lost}"
        + (f"; first error: {errors[0].error}" if errors else "")
    )


RESTART_CHUNKS = ('data: {"type":"start-step"', 'data: {"type":"text-start"')


async def cmd_failover(args: argparse.Namespace) -> None:
    """A worker's death, timed: a turn streams slowly on the Temporal target with two workers; when
    its first text-delta arrives, the worker running it is killed (SIGKILL) and a new one started;
    reported: the time from the kill to the new attempt's first chunk on the same (still open)
    stream (it sends the interrupted step again from its `start-step`/`text-start`), and whether the
    turn ended `success` with the full text."""
    expected = full_text(args.tokens)
    tmp = tempfile.mkdtemp(prefix="cargohold-failover-")
    llm, llm_url = await start_fake_llm(args.tokens, args.tps, args.ttft_ms)
    await reset_postgres_and_redis()
    env = cargohold_env(llm_url, PG_URL, REDIS_URL)
    target = await start_temporal_target(env, tmp, workers=2, heartbeat=args.heartbeat)
    gaps: list[float] = []
    try:
        await warm_up(target, expected)
        async with http_client(target, 4) as client:
            for _ in range(args.kills):
                await workers_polling(target)  # else a kill may leave no live worker: a start, not a failover
                chat = str(uuid.uuid4())
                body = {"chatUuid": chat, "parts": [{"type": "text", "text": PROMPT}]}
                killed_at: float | None = None
                gap: float | None = None
                done = False
                async with client.stream("POST", target.stream_url(target.base_urls[0]), json=body) as response:
                    message = ""
                    async for line in response.aiter_lines():
                        if line.startswith('data: {"type":"start"') and not message:
                            message = json.loads(line[6:])["messageId"]
                        if killed_at is None and line.startswith('data: {"type":"text-delta"'):
                            killed_at = await kill_worker_of(target, message)
                        elif killed_at is not None and gap is None and line.startswith(RESTART_CHUNKS):
                            # The new attempt sends the interrupted step again from its start; deltas
                            # the dead worker published before the kill still arrive after it.
                            gap = time.perf_counter() - killed_at
                        done = done or line == "data: [DONE]"
                messages = await list_messages(client, target.base_urls[0], chat)
                ok = done and messages[-1].get("status") == "success" and message_text(messages[-1]) == expected
                shown = gap if gap is None else round(gap, 2)
                load = os.getloadavg()[0]
                print(f"kill -> new attempt streams: {shown} s; success: {ok}; load 1m {load:.2f}", flush=True)
                if gap is not None:
                    gaps.append(gap)
    finally:
        await target.stop()
        await llm.stop()
    print(f"machine: {machine()}")
    print(
        f"failover (heartbeat {args.heartbeat:g} s, {args.kills} kills): kill -> turn goes on "
        f"p50 {statistics.median(gaps):.2f} s, max {max(gaps):.2f} s"
        if gaps
        else "no failover measured"
    )


async def workers_polling(target: Target, within: float = 300) -> None:
    """Wait until every worker (a replacement too) polls the task queue."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        workers = [c for c in target.children if c.name.startswith("worker")]
        if all(any("polling task queue" in line for line in c.log) for c in workers):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("a replacement worker did not start polling")


async def kill_worker_of(target: Target, message_uuid: str) -> float:
    """SIGKILL the worker whose log names the turn, start another; the moment of the kill."""
    needle = f"turn {message_uuid}: attempt"
    for _ in range(200):
        workers = [c for c in target.children if c.name.startswith("worker")]
        worker = next((c for c in workers if any(needle in line for line in c.log)), None)
        if worker is not None:
            break
        await asyncio.sleep(0.05)
    else:
        raise RuntimeError(f"no worker logged {needle}")
    os.kill(worker.leaf, signal.SIGKILL)
    killed = time.perf_counter()
    await worker.stop()
    target.children.remove(worker)
    fresh = await spawn(f"worker-{uuid.uuid4().hex[:4]}", ["uv", "run", "cargohold", "worker"], target.worker_env)
    fresh.drain()
    target.children.append(fresh)
    return killed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="throughput and latency (the default command)")
    rss = sub.add_parser("rss", help="peak RSS per open stream")
    failover = sub.add_parser("failover", help="Temporal: time from a worker's death to the turn going on")
    failover.add_argument("--kills", type=int, default=5)
    failover.add_argument("--heartbeat", type=float, default=5.0, help="CARGOHOLD_TEMPORAL_HEARTBEAT_SECONDS")
    failover.set_defaults(tokens=100, tps=20.0)
    for p in (run, rss, failover):
        p.add_argument("--tokens", type=int, default=50, help="tokens per fake LLM reply")
        p.add_argument("--tps", type=float, default=0.0, help="fake LLM tokens/s per stream; 0 = unbounded")
        p.add_argument("--ttft-ms", type=float, default=0.0, help="fake LLM time to first token")
    run.add_argument("--targets", default="bare,sqlite,pg-redis,pg-redis-x2,langgraph", help=", ".join(TARGETS))
    run.add_argument("--scenario", action="append", help="CLIENTSxTURNS, repeatable (default 1x50, 10x20)")
    run.add_argument("--chat-mode", choices=("new", "same"), default="new", help="new chat per turn, or one per client")
    run.add_argument("--json", help="also write the rows to this file")
    run.add_argument(
        "--interleave",
        action="store_true",
        help="start every target at once and alternate their turns (before/after with the machine's drift shared)",
    )
    run.add_argument("--py-spy", metavar="DIR", help="profile each target x scenario into DIR (collapsed stacks)")
    rss.add_argument("--target", default="sqlite", choices=[t for t in TARGETS if t != "langgraph"])
    rss.add_argument("--streams", type=int, default=1000)
    rss.add_argument("--ramp", type=float, default=0.0, help="streams opened per second; 0 = all at once")
    rss.set_defaults(tokens=30, tps=1.0)
    argv = sys.argv[1:]
    if not argv or argv[0] not in ("run", "rss", "failover", "-h", "--help"):
        argv = ["run", *argv]
    args = parser.parse_args(argv)
    commands = {"rss": cmd_rss, "failover": cmd_failover, "run": cmd_run}
    asyncio.run(commands[args.command](args))


if __name__ == "__main__":
    main()
