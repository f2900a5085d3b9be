"""What one pydantic-ai run costs on this machine with no server around it: the floor under
`bench/load.py`'s per-turn figures.

    uv run python bench/agent_floor.py                  # both measurements, every mode
    uv run python bench/agent_floor.py --streams 500    # memory with 500 runs open at once

In one process, against `bench/fake_llm.py` (its server side shares the process: its share is the
`direct` row's minus what httpx holds), with the model client cargohold uses
(`runtime/openai_client.LeanAsyncOpenAI` under pydantic-ai's `OpenAIChatModel`):

- `turn`: `runtime/agent.build_agent` + `TurnAgent.events`, exactly as a turn drives the agent (its
  one capability, the step bound and the `ready` gate; no tools);
- `iter`: a bare `Agent(model).iter(...)` with `node.stream` (pydantic-ai's own minimum: its
  auto-injected capabilities, no tools, no instructions);
- `direct`: `pydantic_ai.direct.model_request_stream`: the model's stream with no agent run.

Memory: RSS growth per run with `--streams` runs open at once (each has its first event and waits
on a model streaming one token every 5 s), after a warm-up, and the live coroutines and async
generators per open run (the fake's own handlers included). Time: p50 from building the agent to the model's HTTP request being sent
(`httpx2.AsyncClient.send`), and to the first event, over `--turns` sequential runs (tokens
unthrottled).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import subprocess
import sys
import time
import types
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import uvloop
from pydantic_ai import Agent, CancellationToken
from pydantic_ai.direct import model_request_stream
from pydantic_ai.messages import ModelMessage, ModelRequest, UserPromptPart
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.usage import RunUsage

from cargohold.runtime.agent import AgentSpec, build_agent
from cargohold.runtime.openai_client import LeanAsyncOpenAI

sys.path.insert(0, str(Path(__file__).parent))
from fake_llm import FakeLLMConfig, serve

MODES = ("turn", "iter", "direct")
PROMPT = "Hello there, how are you?"
_sent: list[float] = []


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@asynccontextmanager
async def _model(config: FakeLLMConfig, connections: int) -> AsyncIterator[OpenAIChatModel]:
    server = await serve(config, port=0)
    port = server.sockets[0].getsockname()[1]
    limits = httpx2.Limits(max_connections=connections, max_keepalive_connections=connections)
    http = httpx2.AsyncClient(limits=limits, timeout=600)
    client = LeanAsyncOpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0, http_client=http)
    try:
        yield OpenAIChatModel("bench-model", provider=OpenAIProvider(openai_client=client))
    finally:
        await http.aclose()
        server.close()


async def _events(mode: str, model: OpenAIChatModel, history: list[ModelMessage]) -> AsyncIterator[Any]:
    if mode == "turn":
        turn = build_agent(AgentSpec(model=model, history=history, system_prompt="You are helpful."))
        async for event in turn.events(RunUsage(), CancellationToken()):
            yield event
    elif mode == "iter":
        async with Agent(model).iter(PROMPT) as run:
            async for node in run:
                if Agent.is_model_request_node(node):
                    async with node.stream(run.ctx) as stream:
                        async for event in stream:
                            yield event
    else:
        async with model_request_stream(model, history) as stream:
            async for event in stream:
                yield event


async def memory(mode: str, streams: int) -> tuple[float, float]:
    history: list[ModelMessage] = [ModelRequest(parts=[UserPromptPart(PROMPT)])]
    async with _model(FakeLLMConfig(tokens=16), 8) as model:  # warm-up: imports, caches, pools
        for _ in range(5):
            async for _event in _events(mode, model, history):
                pass
    async with _model(FakeLLMConfig(tokens=16, tps=0.2), streams + 10) as model:
        gc.collect()
        before = _rss_kib()
        opened = [0]
        all_open = asyncio.Event()

        async def one() -> None:
            first = True
            async for _event in _events(mode, model, history):
                if first:
                    first = False
                    opened[0] += 1
                    if opened[0] == streams:
                        all_open.set()

        tasks = [asyncio.create_task(one()) for _ in range(streams)]
        await asyncio.wait_for(all_open.wait(), timeout=120)
        gc.collect()
        per_run = (_rss_kib() - before) / streams
        live: Counter[str] = Counter()
        for obj in gc.get_objects():  # type(), not isinstance(): openai's lazy proxies import on __class__
            kind = type(obj)
            if kind is types.CoroutineType or kind is types.AsyncGeneratorType:
                live[kind.__name__] += 1
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return per_run, sum(live.values()) / streams


async def timing(mode: str, turns: int) -> tuple[float, float]:
    history: list[ModelMessage] = [ModelRequest(parts=[UserPromptPart(PROMPT)])]
    to_send: list[float] = []
    to_first: list[float] = []
    async with _model(FakeLLMConfig(tokens=50), 4) as model:
        for n in range(turns + 20):
            start = time.perf_counter()
            first = None
            async for _event in _events(mode, model, history):
                first = first or time.perf_counter()
            if n >= 20 and first is not None:
                to_send.append((_sent[-1] - start) * 1000)
                to_first.append((first - start) * 1000)
    return statistics.median(to_send), statistics.median(to_first)


def _time_sends() -> None:
    send = httpx2.AsyncClient.send

    async def timed(self: httpx2.AsyncClient, *args: Any, **kwargs: Any) -> Any:
        _sent.append(time.perf_counter())
        return await send(self, *args, **kwargs)

    httpx2.AsyncClient.send = timed  # type: ignore[method-assign]


async def one_mode(args: argparse.Namespace) -> None:
    # The fake's handlers are cancelled mid-reply when the runs are: not worth a traceback each.
    asyncio.get_running_loop().set_exception_handler(lambda _loop, _context: None)
    _time_sends()
    rss, live = await memory(args.one, args.streams)
    send, first = await timing(args.one, args.turns)
    print(f"| {args.one} | {rss:.1f} KiB | {live:.1f} | {send:.2f} ms | {first:.2f} ms |", flush=True)


def main(args: argparse.Namespace) -> None:
    """Each mode in a process of its own: freed memory stays with the process that used it."""
    print(
        f"| mode | RSS per open run ({args.streams} open) | live coroutines + async generators per run "
        "| to the model's HTTP send, p50 | to the first event, p50 |"
    )
    print("|---|---|---|---|---|", flush=True)
    for mode in args.modes.split(","):
        argv = [sys.executable, __file__, "--one", mode, "--streams", str(args.streams), "--turns", str(args.turns)]
        subprocess.run(argv, check=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.one:
        uvloop.run(one_mode(parsed))
    else:
        main(parsed)
