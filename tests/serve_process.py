"""`cargohold serve` as a child process (so a test can kill it -9), with its stderr drained all along
(a full pipe would stall the server) and kept for the failure report. Used by the reaper tests and
the drills."""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from cargohold.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def restartable_port() -> int:
    """A free port below the kernel's ephemeral range, for a server that is killed and started again
    on the same port: while it is down, no outgoing connection (their local ports are ephemeral)
    and no other test's `free_port()` (port 0) can take it. Under xdist the other worker's
    connections churn through ephemeral ports all along."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(100):
        port = random.randint(min(10_000, low // 2), low - 1)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port below the ephemeral range")


def serve_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The child's environment: the test's database (and Redis, under the test's key prefix), no
    provider keys, the offline model; `extra` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}
    env |= {
        "CARGOHOLD_DATABASE_URL": settings.database_url,
        "CARGOHOLD_DEFAULT_MODEL": "offline:offline",
        "CARGOHOLD_BUILTIN_TOOLS": "[]",
        **extra,
    }
    if settings.secret_key is not None:
        env["CARGOHOLD_SECRET_KEY"] = settings.secret_key.get_secret_value()
    if settings.redis_url:
        env |= {"CARGOHOLD_REDIS_URL": settings.redis_url, "CARGOHOLD_REDIS_PREFIX": settings.redis_prefix}
    return env


@dataclass
class Served:
    proc: asyncio.subprocess.Process
    base_url: str
    token: str
    """The token printed on first start ("" when the database already had a workspace)."""
    log: list[str] = field(default_factory=list)

    async def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed."""
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    def log_tail(self, lines: int = 40) -> str:
        return "".join(self.log[-lines:])


@asynccontextmanager
async def serve_process(
    env: dict[str, str], port: int | None = None, startup_timeout: float = 30
) -> AsyncIterator[Served]:
    port = port or free_port()
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
    assert proc.stderr is not None
    stderr = proc.stderr
    served = Served(proc, f"http://127.0.0.1:{port}", "")
    ready = asyncio.Event()

    async def drain() -> None:
        while line := (await stderr.readline()).decode(errors="replace"):
            served.log.append(line)
            if not served.token and (match := re.search(r"(chk_\S+)", line)):
                served.token = match.group(1)
            if "Uvicorn running" in line:  # listening (the app started, then the port was bound)
                ready.set()

    drainer = asyncio.create_task(drain())
    try:
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait([drainer, waiter], timeout=startup_timeout, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not ready.is_set():
            raise RuntimeError(f"cargohold serve did not start:\n{served.log_tail()}")
        yield served
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(drainer, timeout=5)
        drainer.cancel()
