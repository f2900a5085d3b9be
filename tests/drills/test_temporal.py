"""Drills: durable turns on Temporal, over real processes. A Temporal dev server, PostgreSQL, Redis,
one or two `cargohold serve` API instances and two `cargohold worker` processes, with the fake
model server and a webhook receiver in the test. The worker running a turn is killed with
SIGKILL mid model stream, mid tool call and between steps: another worker finishes it, `success`,
with every step stored once; cancel goes through the other API instance; an API instance killed
mid-turn does not touch the turn.

Shared by the module (one dev server, the same API instances, workers replaced when killed)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa

from cargohold.crypto import load_keyring
from cargohold.db.engine import make_engine
from cargohold.db.tables import ScheduleTick
from cargohold.jobs.schedules import trigger_key
from cargohold.settings import Settings
from cargohold.stream.parts import PartsBuilder

from ..conftest import PG_SECRET_KEY, PG_URL, REDIS_URL, TEST_PRICES, _truncate
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..fakes.mcp_servers import serve_mcp
from ..fakes.webhook import Webhook, webhook_server
from ..harness import StreamReader, kind, new_uuid, read_stream, stream_body, stream_turn, wait_until
from ..serve_process import Served, serve_env, serve_process
from .temporal_cluster import Process, start_worker, stop, temporal_dev_server

pytestmark = [
    pytest.mark.drill,
    pytest.mark.postgres,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(not (PG_URL and REDIS_URL), reason="needs CARGOHOLD_TEST_DATABASE_URL and _REDIS_URL"),
]

STORY = " ".join(f"word{i}" for i in range(30))
"""The expected answer: 30 words, streamed three at a time by the fake model."""
HEARTBEAT = "8"  # generous: a loaded CI host must not take a slow worker for a dead one


@dataclass
class Cluster:
    env: dict[str, str]
    api: Served
    client: httpx.AsyncClient
    api2: Served
    """A second API instance: cancel goes through it; it is killed mid-turn by the last drill."""
    client2: httpx.AsyncClient
    llm: FakeLLM
    hook: Webhook
    plugins: Path
    """A directory on every process's PYTHONPATH holding the `square` Python tool (PLUGIN)."""
    workers: list[Process] = field(default_factory=list)
    spawning: list[asyncio.Task[None]] = field(default_factory=list)
    """Workers booting to replace killed ones."""

    async def ticks(self, agent_uuid: str) -> dict[Any, Any]:
        """The claimed ticks of the agent's triggers (tick -> the chat it made), from the database."""
        assert PG_URL
        engine = make_engine(PG_URL, keyring=load_keyring(PG_SECRET_KEY, PG_URL))
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    sa.select(ScheduleTick.tick_at, ScheduleTick.chat_uuid).where(
                        ScheduleTick.agent_uuid == uuid.UUID(agent_uuid)
                    )
                )
                return {tick: chat for tick, chat in rows}
        finally:
            await engine.dispose()

    async def running(self, message_uuid: str) -> Process:
        """The worker that runs the turn now (its log names the turn)."""
        needle = f"turn {message_uuid}: attempt"
        await wait_until(lambda: any(w.said(needle) for w in self.workers), timeout=60)
        return next(w for w in self.workers if w.said(needle))

    async def kill_running(self, message_uuid: str) -> None:
        """SIGKILL the worker running the turn."""
        await self.kill(await self.running(message_uuid))

    async def kill(self, worker: Process) -> None:
        """SIGKILL a worker; its replacement boots meanwhile (`respawn` waits for it), so the drill's
        wait for the takeover and the new worker's start overlap."""
        await stop(worker)
        self.workers.remove(worker)  # the list the fixture stops at the end

        async def replace() -> None:
            self.workers.append(await start_worker(self.env, f"worker-{uuid.uuid4().hex[:4]}"))

        self.spawning.append(asyncio.create_task(replace()))

    async def respawn(self) -> None:
        """Back to two workers."""
        while self.spawning:
            await self.spawning.pop()
        while len(self.workers) < 2:
            self.workers.append(await start_worker(self.env, f"worker-{uuid.uuid4().hex[:4]}"))

    def logs(self) -> str:
        return "\n".join(w.log_tail() for w in self.workers)


PLUGIN = '''
import os
import time
from pathlib import Path

HERE = Path(__file__).parent


def square(n: int) -> dict:
    """Square a whole number (slowly: it waits for the drill's go, 60 s at most)."""
    (HERE / f"called-{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while not (HERE / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"square": n * n, "pid": os.getpid()}
'''


def install_plugin(root: Path) -> Path:
    """An installed-package layout (a module and its dist-info with a `cargohold.tools` entry
    point) that the API instances and workers find through PYTHONPATH."""
    plugins = root / "plugins"
    info = plugins / "drill_square-1.0.dist-info"
    info.mkdir(parents=True)
    (plugins / "drill_square.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: drill-square\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[cargohold.tools]\nsquare = drill_square:square\n")
    return plugins


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def cluster(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Cluster]:
    assert PG_URL and REDIS_URL
    await _truncate(PG_URL)
    tmp = tmp_path_factory.mktemp("temporal")
    plugins = install_plugin(tmp)
    path = os.pathsep.join(p for p in (str(plugins), os.environ.get("PYTHONPATH", "")) if p)
    async with FakeLLM() as llm, webhook_server() as hook, temporal_dev_server(tmp) as address:
        settings = Settings(
            database_url=PG_URL,
            redis_url=REDIS_URL,
            redis_prefix=f"cargohold-drill-{uuid.uuid4().hex[:8]}",
            secret_key=PG_SECRET_KEY,
        )
        env = serve_env(
            settings,
            CARGOHOLD_OPENAI_API_KEY="test-key",
            CARGOHOLD_OPENAI_BASE_URL=llm.openai_base_url,
            CARGOHOLD_DEFAULT_MODEL="openai:gpt-test",
            CARGOHOLD_MODEL_PRICES=json.dumps({k: v.model_dump() for k, v in TEST_PRICES.items()}),
            CARGOHOLD_MODEL_MAX_RETRIES="0",
            CARGOHOLD_ALLOW_PRIVATE_URLS="127.0.0.0/8",
            CARGOHOLD_TEMPORAL_ADDRESS=address,
            CARGOHOLD_TEMPORAL_TASK_QUEUE=f"drill-{uuid.uuid4().hex[:8]}",
            CARGOHOLD_TEMPORAL_HEARTBEAT_SECONDS=HEARTBEAT,
            CARGOHOLD_SCHEDULER_MINUTE_SECONDS="1",  # a cron minute lasts a second
            CARGOHOLD_SCHEDULER_INTERVAL_SECONDS="0.25",
            CARGOHOLD_DATA_DIR=str(tmp / "data"),  # chat files and the code interpreter's sandboxes
            PYTHONPATH=path,
        )
        started = await asyncio.gather(
            start_worker(env, "worker-1"), start_worker(env, "worker-2"), return_exceptions=True
        )
        workers = [w for w in started if isinstance(w, Process)]
        spawning: list[asyncio.Task[None]] = []
        if len(workers) < 2:
            for worker in workers:
                await stop(worker)
            raise next(e for e in started if isinstance(e, BaseException))
        try:
            async with AsyncExitStack() as stack:
                api, api2 = await asyncio.gather(
                    stack.enter_async_context(serve_process(env, startup_timeout=400)),
                    stack.enter_async_context(
                        serve_process({**env, "CARGOHOLD_BOOTSTRAP": "false"}, startup_timeout=400)
                    ),
                )
                headers = {"Authorization": f"Bearer {api.token or api2.token}"}
                client = await stack.enter_async_context(httpx.AsyncClient(base_url=api.base_url, headers=headers))
                client2 = await stack.enter_async_context(httpx.AsyncClient(base_url=api2.base_url, headers=headers))
                client.timeout = client2.timeout = httpx.Timeout(30)
                cluster = Cluster(env, api, client, api2, client2, llm, hook, plugins, workers, spawning)
                yield cluster
        finally:
            for task in spawning:
                with suppress(Exception):
                    await task
            for worker in workers:
                await stop(worker)


@pytest_asyncio.fixture(autouse=True, loop_scope="module")
async def fresh_drill(cluster: Cluster) -> None:
    """Each drill starts from two workers and an empty script: a drill that failed halfway (a worker
    killed and not replaced, a scripted reply never asked for) must not fail the drills after it."""
    cluster.llm.queue.clear()
    await cluster.respawn()


def fold(chunks: list[Any]) -> list[dict[str, Any]]:
    """What the AI SDK client builds from a stream: its parts."""
    builder = PartsBuilder()
    for chunk in chunks:
        if isinstance(chunk, dict):
            builder.add(chunk)
    return builder.parts


def text_parts(parts: list[dict[str, Any]]) -> list[str]:
    return [p["text"] for p in parts if p.get("type") == "text"]


async def finished(client: httpx.AsyncClient, message_uuid: str, timeout: float = 60) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def done() -> bool:
        seen.update((await client.get(f"/v1/ai/messages/{message_uuid}")).json()["message"])
        return seen["status"] not in ("pending", "generating")

    await wait_until(done, timeout=timeout)
    return seen


async def reattach(cluster: Cluster, chat_uuid: str, message_uuid: str) -> asyncio.Task[list[Any]]:
    """Once another worker has taken the turn over (it says so after cutting the dead worker's step
    out of the stream), a second client re-attaches to the chat's stream and reads it all."""
    taken = f"turn {message_uuid} taken over"
    try:
        await wait_until(lambda: any(w.said(taken) for w in cluster.workers), timeout=120)
    except TimeoutError:
        raise AssertionError(f"no worker took turn {message_uuid} over within 120 s\n{cluster.logs()}") from None

    async def read() -> list[Any]:
        async with cluster.client.stream("GET", f"/v1/ai/chats/{chat_uuid}/stream") as response:
            assert response.status_code == 200, "the turn ended before the client re-attached"
            return await asyncio.wait_for(read_stream(response), timeout=90)

    return asyncio.create_task(read())


async def check_turn(cluster: Cluster, message_uuid: str, live: list[Any], replayed: list[Any]) -> dict[str, Any]:
    """What every drill checks after a failover: `success`, both streams end with `finish` and
    `[DONE]`, the re-attached one folds to exactly the stored parts, the workflow id is recorded."""
    message = await finished(cluster.client, message_uuid)
    assert message["status"] == "success", (message, cluster.logs())
    assert message["temporalWorkflowId"] == f"turn-{message_uuid}"
    for chunks in (live, replayed):
        assert chunks[-1] == "[DONE]" and kind(chunks[-2]) == "finish"
    assert fold(replayed) == message["parts"], (replayed, cluster.logs())
    await cluster.respawn()
    return message


async def test_kill9_mid_model_stream(cluster: Cluster) -> None:
    """The cut-off call is made again; its cut-off text is not kept; both calls are counted."""
    cluster.llm.script(Reply(text=STORY, delay=0.15, output_tokens=30), Reply(text=STORY, delay=0.3, output_tokens=30))
    chat_uuid = new_uuid()
    async with cluster.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid, "story")) as r:
        assert r.status_code == 200
        reader = StreamReader(r)
        first = await reader.until(1)
        message_uuid = first[0]["messageId"]
        while not any(kind(c) == "text-delta" for c in reader.chunks):
            await reader.until(len(reader.chunks) + 1, timeout=30)
        await cluster.kill_running(message_uuid)
        replaying = await reattach(cluster, chat_uuid, message_uuid)
        await reader.rest(timeout=90)
    message = await check_turn(cluster, message_uuid, reader.chunks, await replaying)
    assert text_parts(message["parts"]) == [STORY]
    usage = message["usage"]
    assert usage["requestsCount"] == 2 and usage["outputTokensCount"] > 30, usage


LOOKUP = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}


async def webhook_action(cluster: Cluster, slug: str, path: str) -> dict[str, Any]:
    body = {"name": slug, "description": f"{slug} a thing", "url": cluster.hook.url(path), "inputSchema": LOOKUP}
    response = await cluster.client.post("/v1/tools", json=body)
    assert response.status_code == 200, response.text
    return {"kind": "tool", "slug": slug, "toolUuid": response.json()["tool"]["uuid"]}


def tool_parts(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in parts if str(p.get("type", "")).startswith("tool-")]


async def test_kill9_mid_tool_call(cluster: Cluster) -> None:
    """The journaled model call is not made again; the tool call is (at least once), with the same
    idempotency key; the stored parts hold it once."""
    action = await webhook_action(cluster, "slow_lookup", "/slow")
    cluster.hook.release.clear()
    requests, calls = len(cluster.llm.requests), len(cluster.hook.calls)
    cluster.llm.script(Reply(tool_calls=[ToolCall("slow_lookup", {"q": "A-17"})]), Reply(text=STORY, delay=0.3))
    chat_uuid = new_uuid()
    body = stream_body(chat_uuid, "look up A-17", actions=[action])
    async with cluster.client.stream("POST", "/v1/ai/messages/stream", json=body) as r:
        reader = StreamReader(r)
        message_uuid = (await reader.until(1))[0]["messageId"]
        await wait_until(lambda: len(cluster.hook.calls) > calls, timeout=60)
        await cluster.kill_running(message_uuid)
        cluster.hook.release.set()
        replaying = await reattach(cluster, chat_uuid, message_uuid)
        await reader.rest(timeout=90)
    message = await check_turn(cluster, message_uuid, reader.chunks, await replaying)
    assert text_parts(message["parts"]) == [STORY]
    [tool] = tool_parts(message["parts"])
    assert tool["state"] == "output-available" and tool["output"] == {"outcome": "executed", "data": {"late": True}}
    assert len(cluster.llm.requests) - requests == 2, "the journaled tool-call response was requested again"
    made = cluster.hook.calls[calls:]
    assert len(made) == 2  # the cut-off call, and the takeover's
    keys = {c.headers.get("x-cargohold-idempotency-key") for c in made}
    assert keys == {f"{message_uuid}:{tool['toolCallId']}"}


async def test_kill9_mid_python_action_after_connector_and_code(cluster: Cluster) -> None:
    """A connector action (`http`) and `run_python` (codeInterpreter, bubblewrap) in one step, then
    a Python action (an entry-point tool): the worker dies while the Python action runs. The other
    worker replays the first step from the journal (the connector is not called again, the model
    sees run_python's output as it was), runs the Python action again (at least once), and the
    turn ends `success` with each tool's result once in the parts."""
    plugins = cluster.plugins
    for marker in plugins.glob("called-*"):
        marker.unlink()
    (plugins / "go").unlink(missing_ok=True)
    fetch = {"kind": "connector", "slug": "fetch", "integrationSlug": "http", "actionSlug": "request"}
    square = {"kind": "tool", "slug": "square", "templateSlug": "square"}
    call = {"method": "POST", "url": cluster.hook.url("/ok"), "json": {"input": {"q": "E-5"}}}
    requests, calls = len(cluster.llm.requests), len(cluster.hook.calls)
    cluster.llm.script(
        Reply(tool_calls=[ToolCall("fetch", call, id="k1"), ToolCall("run_python", {"code": "print(6 * 7)"}, id="c1")]),
        Reply(tool_calls=[ToolCall("square", {"n": 12}, id="p1")]),
        Reply(text=STORY, delay=0.05),
    )
    chat_uuid = new_uuid()
    body = stream_body(chat_uuid, "compute", actions=[fetch, square], capabilities=[{"slug": "codeInterpreter"}])
    async with cluster.client.stream("POST", "/v1/ai/messages/stream", json=body) as r:
        assert r.status_code == 200
        reader = StreamReader(r)
        message_uuid = (await reader.until(1))[0]["messageId"]
        await wait_until(lambda: any(plugins.glob("called-*")), timeout=60)
        dead = await cluster.running(message_uuid)
        dead_pid = dead.proc.pid
        await cluster.kill_running(message_uuid)
        (plugins / "go").touch()
        replaying = await reattach(cluster, chat_uuid, message_uuid)
        await reader.rest(timeout=90)
    message = await check_turn(cluster, message_uuid, reader.chunks, await replaying)
    assert text_parts(message["parts"]) == [STORY]
    tools = tool_parts(message["parts"])
    assert [t["toolCallId"] for t in tools] == ["k1", "c1", "p1"], tools
    fetched, coded, squared = tools
    assert fetched["state"] == "output-available", fetched
    assert fetched["output"]["data"]["status"] == 200
    assert fetched["output"]["data"]["json"]["echo"] == {"q": "E-5"}
    assert coded["state"] == "output-available" and coded["output"]["stdout"].strip() == "42", coded
    assert coded["output"]["exitCode"] == 0
    assert squared["state"] == "output-available", squared
    assert squared["output"]["outcome"] == "executed" and squared["output"]["data"]["square"] == 144
    assert squared["output"]["data"]["pid"] != dead_pid  # the result of the takeover's call
    assert sorted(m.name for m in plugins.glob("called-*")) == sorted(
        [f"called-{dead_pid}", f"called-{squared['output']['data']['pid']}"]
    ), "the Python action runs again (at least once) on the worker that took over"
    assert len(cluster.hook.calls) - calls == 1, "the journaled connector call ran again"
    assert len(cluster.llm.requests) - requests == 3, "a journaled model response was requested again"
    # The model's last request carries run_python's output as the tool returned it (a replayed result).
    [sent] = [m for m in cluster.llm.requests[-1]["messages"] if m.get("tool_call_id") == "c1"]
    assert json.loads(sent["content"])["stdout"].strip() == "42" and "return_value" not in sent["content"], sent
    assert json.dumps(message["parts"]).count("E-5") == 2  # the call's input and the echo, once each


async def test_kill9_between_steps(cluster: Cluster) -> None:
    """Killed after the tool call was journaled, before the next model call answered: the tool
    call is not repeated, the answer streams once."""
    action = await webhook_action(cluster, "lookup", "/ok")
    requests, calls = len(cluster.llm.requests), len(cluster.hook.calls)
    cluster.llm.script(
        Reply(tool_calls=[ToolCall("lookup", {"q": "B-2"})]),
        Reply(text=STORY, first_delay=120),  # the worker dies while this one keeps it waiting
        Reply(text=STORY, delay=0.3),
    )
    chat_uuid = new_uuid()
    body = stream_body(chat_uuid, "look up B-2", actions=[action])
    async with cluster.client.stream("POST", "/v1/ai/messages/stream", json=body) as r:
        reader = StreamReader(r)
        message_uuid = (await reader.until(1))[0]["messageId"]
        await wait_until(lambda: len(cluster.llm.requests) >= requests + 2, timeout=60)
        await cluster.kill_running(message_uuid)
        replaying = await reattach(cluster, chat_uuid, message_uuid)
        await reader.rest(timeout=90)
    message = await check_turn(cluster, message_uuid, reader.chunks, await replaying)
    assert text_parts(message["parts"]) == [STORY]
    [tool] = tool_parts(message["parts"])
    assert tool["state"] == "output-available" and tool["input"] == {"q": "B-2"}
    assert len(cluster.hook.calls) - calls == 1, "a journaled tool call ran again"
    assert len(cluster.llm.requests) - requests == 3


async def deployed_agent(cluster: Cluster, name: str, **config: Any) -> str:
    created = await cluster.client.post("/v1/ai/agents", json={"name": name, "description": f"{name} agent"})
    agent_uuid = created.json()["agent"]["uuid"]
    body = {"agentUuid": agent_uuid, "integrationSlug": "openai", "languageModelSlug": "gpt-test", **config}
    assert (await cluster.client.put("/v1/ai/releases/updateDraft", json=body)).status_code == 200
    deployed = await cluster.client.post("/v1/ai/releases/deployDraft", json={"agentUuid": agent_uuid})
    assert deployed.status_code == 200, deployed.text
    return str(agent_uuid)


async def payloads_of(cluster: Cluster, workflow_id: str) -> list[bytes]:
    """Every payload of the workflow's history (inputs, results, updates)."""
    from temporalio.api.common.v1 import Payload
    from temporalio.client import Client

    client = await Client.connect(cluster.env["CARGOHOLD_TEMPORAL_ADDRESS"])
    found: list[bytes] = []

    def walk(message: Any) -> None:
        if isinstance(message, Payload):
            found.append(message.data)
            return
        for described, value in message.ListFields():
            if described.message_type is None:
                continue
            items = value.values() if hasattr(value, "keys") else value if hasattr(value, "__len__") else [value]
            for item in items:
                if hasattr(item, "ListFields"):
                    walk(item)

    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        walk(event)
    return found


CHILD = "The helper's answer: " + " ".join(f"fact{i}" for i in range(40))


async def test_kill9_mid_subagent(cluster: Cluster) -> None:
    """An agent action's turn is a child workflow: the worker running it dies mid model call; the
    child is taken over (not started afresh), and the parent ends `success` with the child's text
    once. Only ids cross Temporal: the answer is not in any payload."""
    helper = await deployed_agent(cluster, "Helper", systemPrompt="You help.")
    action = {"kind": "agent", "slug": "ask_helper", "agentUuid": helper}
    requests = len(cluster.llm.requests)
    # Each reply goes to its caller (`match`): the child's requests carry its system prompt, the turn's its
    # user text. The child's requests are not streamed: its first reply holds the body back (first_delay).
    turn, child = "ask the helper", "You help."
    cluster.llm.script(
        Reply(tool_calls=[ToolCall("ask_helper", {"prompt": "help me"}, id="sub1")], match=turn),
        Reply(text=CHILD, first_delay=120, match=child),  # its worker dies while this one keeps it waiting
        Reply(text=CHILD, match=child),  # the child again, on another worker
        Reply(text=STORY, delay=0.05, match=turn),  # the turn, with the child's answer
    )
    chat_uuid = new_uuid()
    body = stream_body(chat_uuid, turn, actions=[action])
    async with cluster.client.stream("POST", "/v1/ai/messages/stream", json=body) as r:
        reader = StreamReader(r)
        message_uuid = (await reader.until(1))[0]["messageId"]
        child_id = f"turn-{message_uuid}:sub1"
        needle = f"sub-agent {child_id}: attempt"
        await wait_until(lambda: any(w.said(needle) for w in cluster.workers), timeout=60)
        await wait_until(lambda: any(child in json.dumps(q) for q in cluster.llm.requests[requests:]), timeout=60)
        dead = next(w for w in cluster.workers if w.said(needle))
        await cluster.kill(dead)
        await reader.rest(timeout=120)
    message = await finished(cluster.client, message_uuid)
    assert message["status"] == "success", (message, cluster.logs())
    assert reader.chunks[-1] == "[DONE]" and kind(reader.chunks[-2]) == "finish"
    assert text_parts(message["parts"]) == [STORY], cluster.logs()
    [tool] = tool_parts(message["parts"])
    assert tool["output"] == {"outcome": "executed", "data": CHILD}
    assert json.dumps(message["parts"]).count("fact39") == 1
    assert len(cluster.llm.requests) - requests == 4, "a journaled step was requested again"
    assert any(w.said(f"sub-agent {child_id} taken over") for w in cluster.workers), cluster.logs()
    assert message["usage"]["requestsCount"] == 4  # the turn's two, the child's two (one cut off)
    from temporalio.client import Client

    temporal = await Client.connect(cluster.env["CARGOHOLD_TEMPORAL_ADDRESS"])
    described = await temporal.get_workflow_handle(child_id).describe()
    assert described.parent_id == f"turn-{message_uuid}"
    for workflow_id in (f"turn-{message_uuid}", child_id):
        payloads = await payloads_of(cluster, workflow_id)
        assert payloads and all(b"fact" not in p and len(p) < 1024 for p in payloads)
    await cluster.respawn()


async def test_background_tool_run_survives_kill9(cluster: Cluster) -> None:
    """`waitUntilFinished: false`: the run is a workflow; the worker running it dies mid-call, and
    another worker runs it to its end (the webhook called again with the same idempotency key)."""
    action = {**(await webhook_action(cluster, "bg_lookup", "/slow")), "waitUntilFinished": False}
    cluster.hook.release.clear()
    calls = len(cluster.hook.calls)
    cluster.llm.script(Reply(tool_calls=[ToolCall("bg_lookup", {"q": "C-3"}, id="bg1")]), Reply(text="Started."))
    _, chunks = await stream_turn(cluster.client, stream_body(new_uuid(), "look up C-3", actions=[action]))
    assert chunks[-1] == "[DONE]"
    message_uuid = chunks[0]["messageId"]
    message = await finished(cluster.client, message_uuid)
    assert message["status"] == "success"
    [tool] = tool_parts(message["parts"])
    assert tool["output"]["outcome"] == "executing"
    run_uuid = tool["output"]["runUuid"]
    await wait_until(lambda: len(cluster.hook.calls) > calls, timeout=60)
    needle = f"tool run {run_uuid}: attempt"
    await wait_until(lambda: any(w.said(needle) for w in cluster.workers), timeout=30)
    dead = next(w for w in cluster.workers if w.said(needle))
    await cluster.kill(dead)
    run: dict[str, Any] = {}

    async def done() -> bool:
        response = await cluster.client.get(f"/v1/tools/runs/{run_uuid}")
        assert response.status_code == 200, response.text
        run.update(response.json()["run"])
        if len(cluster.hook.calls) > calls + 1:
            cluster.hook.release.set()  # the second worker's call is in: let it answer
        return run["status"] != "executing"

    await wait_until(done, timeout=120)
    assert run["status"] == "executed" and run["output"] == {"late": True}, (run, cluster.logs())
    made = cluster.hook.calls[calls:]
    assert len(made) == 2
    assert {c.headers.get("x-cargohold-idempotency-key") for c in made} == {f"{message_uuid}:bg1"}
    await cluster.respawn()


async def test_max_steps_webhook_and_mcp_with_refresh(cluster: Cluster) -> None:
    """One turn on a worker: a webhook action, an MCP client whose stored access token has expired
    (refreshed once, the new tokens stored), and `maxSteps` ending the tool loop."""
    ping = await webhook_action(cluster, "ping", "/ok")
    issued = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    auth = {"issuedAt": issued, "accessToken": "at-0", "expiresIn": 3600, "refreshToken": "rt-0", "clientId": "app"}
    calls, requests = len(cluster.hook.calls), len(cluster.llm.requests)
    async with serve_mcp(oauth=True) as mcp:
        assert mcp.oauth is not None
        cluster.llm.script(
            Reply(tool_calls=[ToolCall("ping", {"q": "D-4"}, id="s1")]),
            Reply(tool_calls=[ToolCall("calc_add", {"a": 2, "b": 3}, id="s2")]),
            Reply(text="Out of steps: 5."),
        )
        clients = [{"name": "calc", "url": mcp.url, "authentication": auth}]
        body = stream_body(new_uuid(), "go", actions=[ping], mcpClients=clients, maxSteps=3)
        _, chunks = await stream_turn(cluster.client, body)
        refreshes = mcp.oauth.refresh_calls
    assert chunks[-1] == "[DONE]"
    message = await finished(cluster.client, chunks[0]["messageId"])
    assert message["status"] == "success", message
    assert message["meta"]["finishReason"] == "max-steps", (message["parts"], cluster.llm.requests[requests:])
    outputs = {p["toolCallId"]: p["output"] for p in tool_parts(message["parts"])}
    assert outputs["s1"]["outcome"] == "executed" and outputs["s1"]["data"]["echo"] == {"q": "D-4"}
    assert outputs["s2"] in (5, "5", {"outcome": "executed", "data": 5}), outputs
    assert text_parts(message["parts"]) == ["Out of steps: 5."]
    assert refreshes == 1
    assert len(cluster.hook.calls) - calls == 1
    assert cluster.hook.calls[-1].headers.get("x-cargohold-idempotency-key") == f"{message['uuid']}:s1"
    assert len(cluster.llm.requests) - requests == 3 and "tools" not in cluster.llm.requests[-1]


async def stream_log(cluster: Cluster, message_uuid: str) -> list[str]:
    """The chunks the broker holds for the message's stream, as a re-attaching client replays them."""
    import redis.asyncio as redis

    assert REDIS_URL
    client = redis.from_url(REDIS_URL, decode_responses=True)
    try:
        entries = await client.xrange(f"{cluster.env['CARGOHOLD_REDIS_PREFIX']}:stream:{message_uuid}")
    finally:
        await client.aclose()
    return [fields["c"] for _, fields in entries if "c" in fields]


async def test_takeover_while_the_first_worker_still_runs(cluster: Cluster) -> None:
    """The worker running a turn stops (SIGSTOP, as a CPU-starved one misses its heartbeats) mid
    model stream, and is taken for dead: another worker takes the turn over while the first is
    still alive. The takeover ends the turn `success` with each step once and `maxSteps` counted
    right; when the first worker runs again it is fenced off (no journal, stream or message write,
    no model call) and stops."""
    ping = await webhook_action(cluster, "ping_b", "/ok")
    requests, calls = len(cluster.llm.requests), len(cluster.hook.calls)
    cluster.llm.script(
        Reply(tool_calls=[ToolCall("ping_b", {"q": "F-6"}, id="t1")]),
        Reply(text=STORY, delay=0.2, output_tokens=30),  # its worker is stopped mid-stream
        Reply(text=STORY, delay=0.05, output_tokens=30),  # the takeover's
    )
    chat_uuid = new_uuid()
    body = stream_body(chat_uuid, "go", actions=[ping], maxSteps=2)
    async with cluster.client.stream("POST", "/v1/ai/messages/stream", json=body) as r:
        reader = StreamReader(r)
        message_uuid = (await reader.until(1))[0]["messageId"]
        while not any(kind(c) == "text-delta" for c in reader.chunks):
            await reader.until(len(reader.chunks) + 1, timeout=30)
        stopped = await cluster.running(message_uuid)
        stopped.proc.send_signal(signal.SIGSTOP)
        try:
            replaying = await reattach(cluster, chat_uuid, message_uuid)
            await reader.rest(timeout=90)
            replayed = await replaying
            message = await finished(cluster.client, message_uuid)
        finally:
            stopped.proc.send_signal(signal.SIGCONT)
    await wait_until(lambda: stopped.said("not finished here"), timeout=60)  # it runs again, and yields
    assert message["status"] == "success", (message, cluster.logs())
    assert message["meta"]["finishReason"] == "max-steps"
    assert text_parts(message["parts"]) == [STORY]
    [tool] = tool_parts(message["parts"])
    assert tool["output"]["data"]["echo"] == {"q": "F-6"}
    assert message["usage"]["requestsCount"] == 3  # the tool call, the cut-off answer, the takeover's
    assert reader.chunks[-1] == "[DONE]" and replayed[-1] == "[DONE]"
    assert fold(replayed) == message["parts"], (replayed, cluster.logs())
    assert len(cluster.hook.calls) - calls == 1, "the journaled webhook call ran again"
    assert len(cluster.llm.requests) - requests == 3, "the stopped worker made a model call after it was taken over"
    assert (await finished(cluster.client, message_uuid)) == message  # the stopped worker changed nothing
    logged = await stream_log(cluster, message_uuid)  # nothing added to the stream by the stopped worker
    assert logged.count("[DONE]") == 1 and logged[-1] == "[DONE]"
    assert fold([json.loads(c) for c in logged if c.startswith("{")]) == message["parts"]


async def test_cancel_is_kept_for_a_late_takeover(cluster: Cluster) -> None:
    """A cancel asked while no worker runs the turn (its worker died) reaches the attempt that
    takes it over even when the broker has forgotten it (it keeps a cancel for
    stream_retention_seconds; the key is deleted here): the attempt reads it from the database,
    and the turn ends `cancelled`."""
    import redis.asyncio as redis

    cluster.llm.script(Reply(text=STORY, delay=0.3), Reply(text=STORY, delay=0.3))
    chat_uuid = new_uuid()
    async with cluster.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid, "story")) as r:
        reader = StreamReader(r)
        message_uuid = (await reader.until(1))[0]["messageId"]
        while not any(kind(c) == "text-delta" for c in reader.chunks):
            await reader.until(len(reader.chunks) + 1, timeout=60)
        await cluster.kill_running(message_uuid)
        response = await cluster.client2.post("/v1/ai/messages/cancel", json={"uuids": [message_uuid]})
        assert response.status_code == 200, response.text
        assert REDIS_URL
        forgetful = redis.from_url(REDIS_URL)
        try:
            assert await forgetful.delete(f"{cluster.env['CARGOHOLD_REDIS_PREFIX']}:cancel:{message_uuid}") == 1
        finally:
            await forgetful.aclose()
        await reader.rest(timeout=90)
    message = await finished(cluster.client, message_uuid)
    assert message["status"] == "cancelled", (message, cluster.logs())
    assert any(w.said(f"turn {message_uuid} taken over") for w in cluster.workers), cluster.logs()
    assert all(STORY.startswith(text) for text in text_parts(message["parts"]))
    assert reader.chunks[-1] == "[DONE]"
    cluster.llm.queue.clear()  # the takeover's request may not have been made
    await cluster.respawn()


async def test_cancel_through_the_other_instance(cluster: Cluster) -> None:
    cluster.llm.script(Reply(text=STORY, delay=0.3))
    chat_uuid = new_uuid()
    async with cluster.client.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid, "story")) as r:
        reader = StreamReader(r)
        message_uuid = (await reader.until(1))[0]["messageId"]
        while not any(kind(c) == "text-delta" for c in reader.chunks):
            await reader.until(len(reader.chunks) + 1, timeout=60)
        asked = time.monotonic()
        response = await cluster.client2.post("/v1/ai/messages/cancel", json={"uuids": [message_uuid]})
        assert response.status_code == 200, response.text
        message = await finished(cluster.client2, message_uuid)
        print(f"cancelled {time.monotonic() - asked:.2f}s after the request")
        await reader.rest(timeout=30)
    assert message["status"] == "cancelled"
    assert text_parts(message["parts"]) and STORY.startswith(text_parts(message["parts"])[0])
    assert reader.chunks[-1] == "[DONE]"
    cluster.llm.script(Reply(text="again"))
    async with cluster.client2.stream("POST", "/v1/ai/messages/stream", json=stream_body(chat_uuid, "again")) as r:
        chunks = await read_stream(r)
    assert chunks[-1] == "[DONE]" and "again" in "".join(c.get("delta", "") for c in chunks if isinstance(c, dict))


async def schedule_ids(cluster: Cluster, agent_uuid: str) -> set[str]:
    """The agent's Temporal Schedules, as the Temporal server lists them."""
    from temporalio.client import Client

    client = await Client.connect(cluster.env["CARGOHOLD_TEMPORAL_ADDRESS"])
    return {s.id async for s in await client.list_schedules() if agent_uuid in s.id}


async def schedule_text(cluster: Cluster, schedule_id: str) -> str:
    from temporalio.client import Client, ScheduleActionStartWorkflow

    client = await Client.connect(cluster.env["CARGOHOLD_TEMPORAL_ADDRESS"])
    described = await client.get_schedule_handle(schedule_id).describe()
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    return str(action.args)


async def test_cron_trigger_is_a_schedule_that_fires_once_per_tick(cluster: Cluster) -> None:
    """With Temporal each cron trigger is a Temporal Schedule (a cron minute lasts a second here),
    made on deploy, replaced when the trigger changes, deleted with it; its ticks run on the workers
    and make one `schedule` chat each, on the deployed release, with the trigger's text. A release's
    heartbeat is a Schedule too, deleted with the agent."""
    trigger = {"type": "cron", "name": "every minute", "cron": "* * * * *", "text": "scheduled hello"}
    created = await cluster.client.post("/v1/ai/agents", json={"name": "Ticker", "triggers": [trigger]})
    assert created.status_code == 200, created.text
    agent_uuid = created.json()["agent"]["uuid"]
    assert created.json()["agent"]["triggers"][0]["temporalScheduleWorkflowId"] is None  # not deployed yet
    assert await schedule_ids(cluster, agent_uuid) == set(), "no schedule before a release is deployed"
    heartbeat = {"intervalMinutes": 600, "maxMessages": 1, "prompt": None}
    deployed = await cluster.client.post(
        "/v1/ai/releases/deployDraft", json={"agentUuid": agent_uuid, "heartbeat": heartbeat}
    )
    assert deployed.status_code == 200, deployed.text
    cluster.llm.default = Reply(text="tick")

    async def ids() -> set[str]:
        return await schedule_ids(cluster, agent_uuid)

    async def both() -> bool:
        return len(await ids()) == 2

    await wait_until(both, timeout=30)
    [cron_id] = [i for i in await ids() if "-cron-" in i]
    for client in (cluster.client, cluster.client2):  # the agent's read names the trigger's Schedule
        agent = (await client.get(f"/v1/ai/agents/{agent_uuid}")).json()["agent"]
        assert [t["temporalScheduleWorkflowId"] for t in agent["triggers"]] == [cron_id]

    async def scheduled() -> list[dict[str, Any]]:
        listed = await cluster.client.get("/v1/ai/chats/list", params={"triggerType": "schedule", "limit": 100})
        return [c for c in listed.json()["chats"] if c["agentUuid"] == agent_uuid]

    try:

        async def three() -> bool:
            return len(await scheduled()) >= 3

        await wait_until(three, timeout=120)
        chats: list[dict[str, Any]] = []
        changed = {**trigger, "text": "changed hello"}
        updated = await cluster.client2.put(f"/v1/ai/agents/{agent_uuid}", json={"triggers": [changed]})
        assert updated.status_code == 200
        now: set[str] = set()

        async def replaced() -> bool:
            now.clear()
            now.update(await ids())
            return cron_id not in now and len(now) == 2

        await wait_until(replaced, timeout=30)  # Temporal's list is eventually consistent
        [new_id] = [i for i in now if "-cron-" in i]
        assert trigger_key(changed) in await schedule_text(cluster, new_id)
        assert updated.json()["agent"]["triggers"][0]["temporalScheduleWorkflowId"] == new_id
        stopped = await cluster.client2.put(f"/v1/ai/agents/{agent_uuid}", json={"triggers": []})
        assert stopped.status_code == 200

        async def no_cron() -> bool:
            return not any("-cron-" in i for i in await ids())

        await wait_until(no_cron, timeout=30)

        async def all_done() -> bool:
            # A tick whose workflow started before the trigger went may still make its chat: wait
            # until every claimed tick has its chat, and every chat its answer.
            chats[:] = await scheduled()
            if {str(c) for c in (await cluster.ticks(agent_uuid)).values()} != {c["uuid"] for c in chats}:
                return False
            for chat in chats:
                listed = await cluster.client.get("/v1/ai/messages/list", params={"chatUuid": chat["uuid"]})
                if [m["status"] for m in listed.json()["messages"]] != ["success", "success"]:
                    return False
            return True

        await wait_until(all_done, timeout=120)
    finally:
        cluster.llm.default = None
    assert all(c["trigger"] == {"type": "schedule"} for c in chats)
    texts = set()
    for chat in chats:
        listed = (await cluster.client.get("/v1/ai/messages/list", params={"chatUuid": chat["uuid"]})).json()
        texts.add(listed["messages"][0]["parts"][0]["text"])
        assert listed["messages"][1]["parts"][-1]["text"] == "tick"
    assert "scheduled hello" in texts and texts <= {"scheduled hello", "changed hello"}
    ticks = await cluster.ticks(agent_uuid)
    assert len(ticks) == len(set(ticks)) == len(chats), "a tick fired twice (or made no chat)"
    assert {str(c) for c in ticks.values()} == {c["uuid"] for c in chats}
    deleted = await cluster.client.delete(f"/v1/ai/agents/{agent_uuid}")
    assert deleted.status_code in (200, 204)

    async def none_left() -> bool:
        return await ids() == set()

    await wait_until(none_left, timeout=30)  # else: the heartbeat's schedule outlived its agent


async def test_heartbeat_schedule_wakes_a_chat(cluster: Cluster) -> None:
    """A deployed release's heartbeat on Temporal (every 3 shortened minutes = 3 s): the agent's
    finished chat gets the prompt as a user message, answered on the workers."""
    created = await cluster.client.post("/v1/ai/agents", json={"name": "Pulse"})
    agent_uuid = created.json()["agent"]["uuid"]
    cluster.llm.default = Reply(text="quiet")
    try:
        chat_uuid = new_uuid()
        body = stream_body(chat_uuid, "hello", agentUuid=agent_uuid, chatTrigger={"type": "app"})
        heartbeat = {"intervalMinutes": 3, "maxMessages": 1, "prompt": "Any news?"}
        deploy = {"agentUuid": agent_uuid, "heartbeat": heartbeat}
        assert (await cluster.client.post("/v1/ai/releases/deployDraft", json=deploy)).status_code == 200
        async with cluster.client.stream("POST", "/v1/ai/messages/stream", json=body) as r:
            assert r.status_code == 200
            await read_stream(r)

        async def woken() -> bool:
            listed = await cluster.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})
            messages = listed.json()["messages"]
            return len(messages) == 4 and messages[-1]["status"] == "success"

        await wait_until(woken, timeout=120)
    finally:
        cluster.llm.default = None
    listed = (await cluster.client.get("/v1/ai/messages/list", params={"chatUuid": chat_uuid})).json()["messages"]
    assert [m["parts"][0]["text"] for m in listed if m["type"] == "user"] == ["hello", "Any news?"]
    assert listed[-1]["temporalWorkflowId"] == f"turn-{listed[-1]['uuid']}"
    assert [str(c) for c in (await cluster.ticks(agent_uuid)).values()] == [chat_uuid]
    assert (await cluster.client.delete(f"/v1/ai/agents/{agent_uuid}")).status_code in (200, 204)


async def test_api_instance_killed_mid_turn(cluster: Cluster) -> None:
    """The turn runs on a worker: the API instance the client streamed from dies, the turn goes on;
    re-attaching through the other instance gives the whole stream."""
    cluster.llm.script(Reply(text=STORY, delay=0.3))
    chat_uuid = new_uuid()
    body = stream_body(chat_uuid, "story")
    try:
        async with cluster.client2.stream("POST", "/v1/ai/messages/stream", json=body) as r:
            reader = StreamReader(r)
            message_uuid = (await reader.until(1))[0]["messageId"]
            while not any(kind(c) == "text-delta" for c in reader.chunks):
                await reader.until(len(reader.chunks) + 1, timeout=60)
            await cluster.api2.kill()
            await reader.rest(timeout=30)
    except httpx.HTTPError:
        pass  # the body was cut with the process
    async with cluster.client.stream("GET", f"/v1/ai/chats/{chat_uuid}/stream") as response:
        assert response.status_code == 200
        replayed = await asyncio.wait_for(read_stream(response), timeout=90)
    message = await finished(cluster.client, message_uuid)
    assert message["status"] == "success"
    assert replayed[-1] == "[DONE]" and fold(replayed) == message["parts"]
    assert text_parts(message["parts"]) == [STORY]
