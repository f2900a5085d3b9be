"""`cargohold worker`: a process that runs turns for Temporal (any number of them, on any machine
that reaches the same database, Redis and Temporal). It opens what a turn needs, as the API's
lifespan does, and polls the task queue.

Stopping it (SIGTERM, Ctrl-C) is the same as its death, on purpose: the turns it was running
are taken over by another worker from their last journaled step, rather than ended `error`."""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import signal
from datetime import timedelta

from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from ...crypto import keyring_from
from ...db.engine import make_engine, make_session_factory
from ...db.migrate import upgrade
from ...files.blobs import make_blob_store
from ...runtime.models import ModelRegistry
from ...runtime.outbound import AllowList, guarded_client
from ...runtime.plugins import Plugins
from ...runtime.tools import ToolRegistry
from ...services.connectors import credentials_loader
from ...services.ports import TurnDeps
from ...services.turn_tools import MCP_MODULE
from ...settings import Settings
from ...stream.redis import RedisBroker
from ..tool_runs import BackgroundToolRuns
from .activities import TurnActivities
from .background import ToolRunActivities
from .children import SubagentActivities
from .executor import connect
from .schedules import ScheduleActivities, ScheduledWorkflow
from .workflows import SubagentWorkflow, ToolRunWorkflow, TurnWorkflow

__all__ = ["WorkerConfigError", "run_worker"]

log = logging.getLogger(__name__)


class WorkerConfigError(Exception):
    pass


def check_config(settings: Settings) -> None:
    if not settings.temporal_address:
        raise WorkerConfigError("set CARGOHOLD_TEMPORAL_ADDRESS (host:port of a Temporal frontend)")
    if not settings.redis_url:
        raise WorkerConfigError("a worker needs CARGOHOLD_REDIS_URL: the API instances read its streams there")


def _warm_imports(settings: Settings) -> None:
    """Import now what a turn imports on first use (the provider SDKs; the MCP client stack, ~1.5 s
    on a quiet host and 10-20 s at load 15, which stalled the event loop past the heartbeat timeout
    and made Temporal hand a live worker's turn to another): a worker's first turn of a kind must
    not miss its heartbeats and be taken over."""
    if settings.openai_api_key or settings.openai_base_url:
        importlib.import_module("pydantic_ai.models.openai")
    if settings.anthropic_api_key or settings.anthropic_base_url:
        importlib.import_module("pydantic_ai.models.anthropic")
    importlib.import_module(MCP_MODULE)


async def run_worker(settings: Settings) -> None:
    check_config(settings)
    _warm_imports(settings)
    assert settings.redis_url is not None
    engine = make_engine(settings.database_url, keyring=keyring_from(settings))
    await upgrade(engine)
    sessions = make_session_factory(engine)
    retention = settings.stream_retention_seconds
    broker = RedisBroker(settings.redis_url, prefix=settings.redis_prefix, retention_seconds=retention)
    await broker.start()
    outbound = AllowList.parse(settings.allow_private_urls)
    http = guarded_client(outbound, timeout=settings.outbound_timeout)
    models = ModelRegistry(settings)
    models.load_credentials = credentials_loader(sessions)  # connectors (issue 10): workspaces' own keys
    deps = TurnDeps(
        settings,
        sessions,
        http,
        models,
        ToolRegistry(settings.builtin_tools),
        Plugins.load(),
        BackgroundToolRuns(sessions),
        blobs=make_blob_store(settings),  # files (issue 12): the code interpreter's chat files
    )
    client = await connect(settings)
    activities = TurnActivities(deps, broker, client)
    subagents = SubagentActivities(deps, client)  # sub-agents' turns (child workflows)
    tool_runs = ToolRunActivities(deps, client)  # `waitUntilFinished: false` tool runs
    ticks = ScheduleActivities.for_worker(deps, engine, broker, client)  # scheduled agents (issue 13)
    worker = Worker(
        client,
        task_queue=settings.temporal_task_queue,
        workflows=[TurnWorkflow, SubagentWorkflow, ToolRunWorkflow, ScheduledWorkflow],
        activities=[
            activities.run_turn,
            activities.fail_turn,
            subagents.run_subagent,
            subagents.fail_subagent,
            tool_runs.run_tool_run,
            tool_runs.fail_tool_run,
            ticks.fire,
        ],
        # Unsandboxed: the workflow only calls two activities (no clock, no I/O, no randomness),
        # and the sandbox's validation adds tens of seconds to a worker's start on a loaded host.
        workflow_runner=UnsandboxedWorkflowRunner(),
        # No sticky cache: a workflow's next task goes to any worker at once, not first to the
        # (maybe dead) one that ran its last task. The workflow is small; its replay is cheap.
        max_cached_workflows=0,
        max_concurrent_activities=settings.temporal_max_concurrent_turns,
        graceful_shutdown_timeout=timedelta(0),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.warning(
        "cargohold worker: polling task queue %r on %s (namespace %s)",
        settings.temporal_task_queue,
        settings.temporal_address,
        settings.temporal_namespace,
    )
    runner = asyncio.create_task(worker.run())
    await asyncio.wait([runner, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED)
    if runner.done():
        runner.result()  # the worker failed: say why
    log.warning("cargohold worker: stopping; its running turns are taken over by another worker")
    os._exit(0)  # no turn is ended here: each is journaled, and Temporal retries it elsewhere
