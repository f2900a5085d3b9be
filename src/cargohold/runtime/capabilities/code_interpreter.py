"""The `codeInterpreter` capability: `run_python {code}` in the bubblewrap sandbox (`sandbox/`).

Each chat has a working directory of its own (`/mnt/data`, the current directory), kept across
the chat's calls; each file a call writes (new or changed) comes back in `files` (`{name, size,
mediaType, fileUuid}`) and is stored as a temporary file of the chat (`ports.files`), sent as a
`file` part whose url is `/v1/content/files/{uuid}/raw` (at most `MAX_STORED_FILES` per call, each
bounded by the sandbox's file size limit). Without a file store, files up to
`sandbox_inline_file_bytes` come back as data-URL `file` parts instead. Calls of
one chat run one at a time (in this process). The answer is `{stdout, stderr, exitCode, files}`,
plus `limit` when a limit stopped the code. A sandbox that is missing or fails its self-check
leaves the tool out of the turn (the configuration check refuses it before: a 400).
"""

from __future__ import annotations

import asyncio
import base64
import signal
import weakref
from pathlib import Path
from typing import Any

from pydantic_ai import RunContext, Tool
from pydantic_ai.toolsets import FunctionToolset

from ...files.urls import ATTACHMENT_URL
from ...sandbox import (
    MAX_FILES,
    MOUNT,
    Limits,
    RunResult,
    Sandbox,
    Snapshot,
    chat_workdir,
    clear_workdir,
    read_inside,
    remove_inside,
    sandbox_problem,
    sandbox_uid,
)
from ...schemas.capabilities import Capability
from ...settings import Settings
from ..attachments import FileAttachment, file_attachment, with_attachments
from ..context import ToolSource, TurnContext

__all__ = ["TOOL_NAME", "code_interpreter", "sandbox_of", "sandbox_root"]

TOOL_NAME = "run_python"
CODE_SCHEMA = {
    "type": "object",
    "properties": {"code": {"type": "string", "description": "A Python 3 program; print what you want to see."}},
    "required": ["code"],
    "additionalProperties": False,
}
MAX_STORED_FILES = 20
"""One call stores at most this many of the files it wrote as chat files (the rest are listed only)."""
INLINE_BUDGET_FILES = 4
"""One call attaches at most this many times `sandbox_inline_file_bytes` in all (the rest are listed only)."""
_locks: weakref.WeakValueDictionary[Path, asyncio.Lock] = weakref.WeakValueDictionary()


def sandbox_root(settings: Settings) -> Path:
    return (settings.sandbox_dir or settings.data_dir / "sandbox").expanduser()


def sandbox_of(settings: Settings) -> Sandbox:
    limits = Limits(
        cpu_seconds=settings.sandbox_cpu_seconds,
        wall_seconds=settings.sandbox_wall_seconds,
        memory_mb=settings.sandbox_memory_mb,
        max_processes=settings.sandbox_max_processes,
        max_file_mb=settings.sandbox_max_file_mb,
        max_output_bytes=settings.sandbox_max_output_bytes,
    )
    return Sandbox(settings.sandbox_python, limits)


def _description(settings: Settings) -> str:
    return (
        f"Run Python 3 code in a sandbox (numpy and pandas available; no network). The current directory, "
        f"{MOUNT}, belongs to this chat and keeps its files between calls; files you write there are given "
        f"to the user. Limits per call: {settings.sandbox_cpu_seconds} s of CPU, "
        f"{settings.sandbox_wall_seconds:g} s in all, {settings.sandbox_memory_mb} MB of memory, "
        f"{settings.sandbox_max_output_bytes} bytes of output shown. Returns stdout, stderr, exitCode and files."
    )


def _limit_hit(result: RunResult, settings: Settings) -> str | None:
    if result.timed_out:
        return f"stopped: the wall clock limit ({settings.sandbox_wall_seconds:g} s) was reached"
    code = result.exit_code
    if code is None or code <= 128:
        return None
    # bwrap reports a signal as 128 + its number.
    try:
        name = signal.Signals(code - 128).name
    except ValueError:
        return None
    if name in ("SIGKILL", "SIGXCPU"):
        return f"killed ({name}): the CPU time limit ({settings.sandbox_cpu_seconds} s) was reached"
    if name == "SIGXFSZ":
        return f"killed ({name}): the file size limit ({settings.sandbox_max_file_mb} MB) was reached"
    return f"killed by {name}"


def _over_quota(snapshot: Snapshot, settings: Settings) -> str | None:
    if snapshot.over_count:
        return f"the working directory may hold at most {MAX_FILES} files and directories: it was emptied"
    if snapshot.total_bytes > settings.sandbox_max_dir_mb * 1024 * 1024:
        return (
            f"the working directory may hold at most {settings.sandbox_max_dir_mb} MB: "
            "the files this call wrote were removed"
        )
    return None


def _output(result: RunResult, which: str) -> str:
    text, dropped = (
        (result.stdout, result.stdout_dropped) if which == "stdout" else (result.stderr, result.stderr_dropped)
    )
    return f"{text}\n[{dropped} more bytes of {which} were dropped]" if dropped else text


async def _attach(
    ctx: TurnContext, settings: Settings, workdir: Path, written: list[Any], listed: list[dict[str, Any]]
) -> list[FileAttachment]:
    """The `file` parts of what a call wrote: each file stored as a temporary file of the chat
    (its url `/v1/content/files/{uuid}/raw`, its `fileUuid` added to the tool's `files`); without
    a file store, only small files as data URLs."""
    attached: list[FileAttachment] = []
    port = ctx.ports.files if ctx.ports is not None else None
    if port is not None:
        cap = settings.sandbox_max_file_mb * 1024 * 1024
        for file, wire in zip(written[:MAX_STORED_FILES], listed, strict=False):
            data = await asyncio.to_thread(read_inside, workdir, file.name, cap)
            if data is None:
                continue
            file_uuid = await port.save(file.name, file.media_type, data)
            wire["fileUuid"] = str(file_uuid)
            attached.append(file_attachment(ATTACHMENT_URL.format(uuid=file_uuid), file.media_type))
        return attached
    budget = INLINE_BUDGET_FILES * settings.sandbox_inline_file_bytes
    for file in written:
        if file.size > min(settings.sandbox_inline_file_bytes, budget):
            continue
        budget -= file.size
        data = await asyncio.to_thread(read_inside, workdir, file.name, settings.sandbox_inline_file_bytes)
        if data is not None:
            url = f"data:{file.media_type};base64,{base64.b64encode(data).decode()}"
            attached.append(file_attachment(url, file.media_type))
    return attached


async def code_interpreter(capability: Capability, ctx: TurnContext) -> ToolSource:
    settings = ctx.settings
    if problem := await asyncio.to_thread(sandbox_problem, settings.sandbox_python):
        return ToolSource(errors=[{"name": capability.slug, "kind": "capability", "errorMessage": problem}])
    sandbox = sandbox_of(settings)
    root = sandbox_root(settings)

    async def run_python(run: RunContext[Any], code: str) -> Any:
        workdir = await asyncio.to_thread(chat_workdir, root, ctx.workspace_uuid, ctx.chat_uuid)
        lock = _locks.setdefault(workdir, asyncio.Lock())
        async with lock:
            before = await asyncio.to_thread(Snapshot.take, workdir)
            result = await sandbox.run(code, workdir, sandbox_uid(ctx.chat_uuid))
            after = await asyncio.to_thread(Snapshot.take, workdir)
            written = after.written_since(before)
            over = _over_quota(after, settings)
            if after.over_count:  # the walk stopped early: what this call wrote is not all known
                await asyncio.to_thread(clear_workdir, workdir)
                written = []
            elif over:
                await asyncio.to_thread(remove_inside, workdir, [f.name for f in written])
                written = []
            listed = [f.wire() for f in written]
            attached = await _attach(ctx, settings, workdir, written, listed)
        output: dict[str, Any] = {
            "stdout": _output(result, "stdout"),
            "stderr": _output(result, "stderr"),
            "exitCode": result.exit_code,
            "files": listed,
        }
        if limit := over or _limit_hit(result, settings):
            output["limit"] = limit
        return with_attachments(output, files=attached)

    tool = Tool.from_schema(
        run_python, name=TOOL_NAME, description=_description(settings), json_schema=CODE_SCHEMA, takes_ctx=True
    )
    return ToolSource(toolsets=[FunctionToolset([tool])])  # recorded in evaluatedTools by runtime/sources.py
