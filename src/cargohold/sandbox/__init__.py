"""The code interpreter's sandbox: bubblewrap around a read-only Python environment (`runner.py`)
and each chat's working directory (`workdirs.py`). Nothing here knows about turns or HTTP."""

from .runner import MOUNT, Limits, RunResult, Sandbox, sandbox_problem
from .workdirs import (
    MAX_FILES,
    ChatFile,
    Snapshot,
    chat_workdir,
    clear_workdir,
    read_inside,
    remove_chat_workdir,
    remove_inside,
    sandbox_uid,
)

__all__ = [
    "MAX_FILES",
    "MOUNT",
    "ChatFile",
    "Limits",
    "RunResult",
    "Sandbox",
    "Snapshot",
    "chat_workdir",
    "clear_workdir",
    "read_inside",
    "remove_chat_workdir",
    "remove_inside",
    "sandbox_problem",
    "sandbox_uid",
]
