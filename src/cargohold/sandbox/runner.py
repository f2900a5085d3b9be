"""Run model-written Python in a bubblewrap sandbox, never on the host.

What the sandboxed process sees: `/usr` and the Python environment (the venv at `/opt/venv`, its
base interpreter at its own path), read only; its chat's working directory at `/mnt/data`
(read-write, the current directory); a fresh `/proc` of its own pid namespace (host processes are
invisible); a minimal, read-only `/dev`; a small private `/tmp` and `/dev/shm` (tmpfs of bounded
size); everything else read-only. Nothing else of the host: no `/etc`, no `/work`, no server
files, an empty environment. No network: a network namespace of its own with no interface up,
loopback included.

Limits: CPU seconds, address space, processes, file size and open files (`prlimit`, inherited by
every child), a wall clock (the whole process group is killed: bwrap's pid namespace dies with it),
and output read at most `max_output_bytes` per stream (the rest is drained and dropped).

As root, the namespaces are made without a user namespace and the code runs as an unprivileged uid
of its own (`setpriv`), so RLIMIT_NPROC applies (it never does to uid 0). As another user, bwrap
makes a user namespace, and the process limit counts that namespace's processes only.

If bwrap is missing or its self-check fails, `sandbox_problem` says why and nothing runs: there is
no unsandboxed fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MOUNT", "Limits", "RunResult", "Sandbox", "sandbox_problem"]

MOUNT = "/mnt/data"
"""Where the chat's working directory appears inside the sandbox."""
_VENV = "/opt/venv"
_SELF_CHECK = "import sys; print('ok', sys.version_info[0])"
_ENV = {
    "PATH": f"{_VENV}/bin:/usr/bin:/bin",
    "HOME": MOUNT,
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "MPLBACKEND": "Agg",
    # One thread per BLAS/OpenMP pool: thread pools reserve address space and count as processes.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


@dataclass(frozen=True, slots=True)
class Limits:
    cpu_seconds: int = 10
    wall_seconds: float = 30.0
    memory_mb: int = 1024
    max_processes: int = 32
    max_file_mb: int = 50
    max_output_bytes: int = 20_000
    tmp_mb: int = 16


@dataclass(slots=True)
class RunResult:
    stdout: str
    stderr: str
    exit_code: int | None
    """The process's exit status; negative for a signal (-9 when a limit killed it); None when the
    wall clock ran out."""
    timed_out: bool = False
    stdout_dropped: int = 0
    """Bytes of stdout past the limit, read and dropped."""
    stderr_dropped: int = 0


def _ancestors(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


class Sandbox:
    """One configured sandbox: which Python environment, which limits. `run` may be called concurrently."""

    def __init__(self, python_env: Path | None, limits: Limits, *, bwrap: str | None = None) -> None:
        self.venv = (python_env or Path(sys.prefix)).resolve()
        self.limits = limits
        self.bwrap = bwrap or shutil.which("bwrap")
        self.base = self._base_prefix()

    def _base_prefix(self) -> Path | None:
        """The base interpreter's prefix a venv points at (`home` in pyvenv.cfg), or None when
        `venv` is itself a plain installation."""
        cfg = self.venv / "pyvenv.cfg"
        if not cfg.is_file():
            return None
        for line in cfg.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                return Path(value.strip()).resolve().parent
        return None

    def command(self, argv: list[str], workdir: Path | None, uid: int) -> list[str]:
        if self.bwrap is None:
            raise RuntimeError("bwrap is not installed")
        root = os.geteuid() == 0
        cmd = [self.bwrap]
        if root:
            # No user namespace: uid 0 would be exempt from RLIMIT_NPROC; setpriv below drops to `uid`.
            cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
        else:
            cmd += ["--unshare-all"]
        cmd += ["--die-with-parent", "--new-session", "--hostname", "sandbox", "--clearenv"]
        cmd += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "lib", "lib64", "sbin"):
            if os.path.islink(f"/{name}"):
                cmd += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
            elif os.path.isdir(f"/{name}"):
                cmd += ["--ro-bind", f"/{name}", f"/{name}"]
        made = {"/", "/usr", "/tmp", "/mnt", "/opt"}
        if self.base is not None and not str(self.base).startswith("/usr/"):
            for parent in _ancestors(str(self.base) + "/x")[:-1]:
                if parent not in made:
                    cmd += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
            cmd += ["--ro-bind", str(self.base), str(self.base)]
        cmd += ["--perms", "0755", "--dir", "/opt", "--ro-bind", str(self.venv), _VENV]
        cmd += ["--proc", "/proc", "--dev", "/dev"]
        # Memory-backed and shared with the host's RAM: each is a tmpfs of bounded size.
        tmp_size = str(self.limits.tmp_mb * 1024 * 1024)
        cmd += ["--perms", "01777", "--size", tmp_size, "--tmpfs", "/tmp"]
        cmd += ["--perms", "01777", "--size", tmp_size, "--tmpfs", "/dev/shm", "--remount-ro", "/dev"]
        cmd += ["--perms", "0755", "--dir", "/mnt"]
        if workdir is not None:
            cmd += ["--bind", str(workdir), MOUNT, "--chdir", MOUNT]
        # The root is a tmpfs bwrap made (writable by the sandbox user when there is a user namespace).
        cmd += ["--remount-ro", "/"]
        for key, value in _ENV.items():
            cmd += ["--setenv", key, value]
        if root:
            cmd += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--"]
            cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            cmd += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
        else:
            cmd += ["--"]
        limits = self.limits
        cmd += [
            "prlimit",
            f"--cpu={limits.cpu_seconds}",
            f"--as={limits.memory_mb * 1024 * 1024}",
            f"--nproc={limits.max_processes}",
            f"--fsize={limits.max_file_mb * 1024 * 1024}",
            "--nofile=256",
            "--core=0",
            "--",
            f"{_VENV}/bin/python",
            "-I",
            *argv,
        ]
        return cmd

    async def run(self, code: str, workdir: Path | None, uid: int) -> RunResult:
        """Run `code` (given on stdin, so it is not limited by argv size) with `workdir` as /mnt/data."""
        cmd = self.command(["-c", "import sys; exec(compile(sys.stdin.read(), '<code>', 'exec'))"], workdir, uid)
        # bwrap reads its arguments from a pipe (`--args`): its command line, which the sandbox sees as
        # /proc/1/cmdline, then says nothing about the host (paths, workspace and chat uuids).
        read_end, write_end = os.pipe()
        try:
            split = cmd.index("--")  # options through the pipe; the sandboxed command (no host paths) in argv
            os.write(write_end, b"".join(arg.encode() + b"\0" for arg in cmd[1:split]))
            os.close(write_end)
            proc = await asyncio.create_subprocess_exec(
                cmd[0],
                "--args",
                str(read_end),
                *cmd[split:],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={"PATH": "/usr/bin:/bin"},
                start_new_session=True,
                pass_fds=(read_end,),
            )
        finally:
            os.close(read_end)
            with contextlib.suppress(OSError):
                os.close(write_end)
        cap = self.limits.max_output_bytes
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None

        async def feed() -> None:
            assert proc.stdin is not None
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                proc.stdin.write(code.encode("utf-8", "replace"))
                await proc.stdin.drain()
                proc.stdin.close()

        reads = (
            asyncio.ensure_future(_read_capped(proc.stdout, cap)),
            asyncio.ensure_future(_read_capped(proc.stderr, cap)),
        )
        everything = asyncio.gather(feed(), *reads, proc.wait())
        timed_out = False
        try:
            await asyncio.wait_for(asyncio.shield(everything), self.limits.wall_seconds)
        except TimeoutError:
            timed_out = True
        finally:
            _kill_group(proc.pid)
            # The pipes end once every process holding them is gone (killed with the group above).
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(everything), 10)
            everything.cancel()
        out, out_dropped = _done(reads[0])
        err, err_dropped = _done(reads[1])
        return RunResult(
            stdout=out.decode("utf-8", "replace"),
            stderr=err.decode("utf-8", "replace"),
            exit_code=None if timed_out else proc.returncode,
            timed_out=timed_out,
            stdout_dropped=out_dropped,
            stderr_dropped=err_dropped,
        )


_CHECK_LIMITS = Limits(cpu_seconds=10, wall_seconds=60, memory_mb=512, max_processes=8, max_output_bytes=1000)
_CHECK_UID = 65534
_checked: dict[tuple[str, str | None], str | None] = {}


def sandbox_problem(python_env: Path | None) -> str | None:
    """Why the sandbox cannot be used here (bwrap missing, its self-check failing), or None. Checked
    once per process and environment (a synchronous subprocess, about a tenth of a second)."""
    sandbox = Sandbox(python_env, _CHECK_LIMITS)
    key = (str(sandbox.venv), sandbox.bwrap)
    if key not in _checked:
        if sandbox.bwrap is None:
            _checked[key] = "bubblewrap (`bwrap`) is not installed on the server"
        else:
            try:
                done = subprocess.run(
                    sandbox.command(["-c", _SELF_CHECK], None, _CHECK_UID),
                    capture_output=True,
                    env={"PATH": "/usr/bin:/bin"},
                    timeout=60,
                    check=False,
                )
                ok = done.stdout.decode(errors="replace").strip() == "ok 3"
                detail = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1][:300]
                _checked[key] = None if ok else f"the sandbox self-check failed (exit {done.returncode}): {detail}"
            except (OSError, subprocess.TimeoutExpired) as exc:
                _checked[key] = f"bubblewrap could not start: {exc}"
    return _checked[key]


async def _read_capped(stream: asyncio.StreamReader, cap: int) -> tuple[bytes, int]:
    kept = bytearray()
    dropped = 0
    while chunk := await stream.read(65536):
        room = cap - len(kept)
        if room > 0:
            kept += chunk[:room]
        dropped += max(0, len(chunk) - max(room, 0))
    return bytes(kept), dropped


def _done(task: asyncio.Future[tuple[bytes, int]]) -> tuple[bytes, int]:
    if task.done() and not task.cancelled() and task.exception() is None:
        return task.result()
    return b"", 0


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
