"""Each chat's working directory: `<root>/<workspace uuid>/<chat uuid>`, kept across the chat's
`run_python` calls, and the files a call wrote there.

The sandboxed code owns its directory and may leave symlinks in it (to `/etc/passwd`, to the
server's key): files are listed without following links and opened one path component at a time
with `O_NOFOLLOW`, so the server only ever reads regular files that really are inside it.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import shutil
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MAX_FILES",
    "ChatFile",
    "Snapshot",
    "chat_workdir",
    "clear_workdir",
    "read_inside",
    "remove_chat_workdir",
    "remove_inside",
    "sandbox_uid",
]

MAX_FILES = 1000
"""Files a working directory may hold; a snapshot looks at one more (a call that writes a million
files is not walked whole: it is over the limit)."""


def sandbox_uid(chat_uuid: uuid.UUID) -> int:
    """The uid a chat's code runs as when the server is root: one of its own per chat (so one
    chat's processes do not count against another's limit), far from any real account."""
    return 600_000 + chat_uuid.int % 100_000 if os.geteuid() == 0 else os.getuid()


def chat_workdir(root: Path, workspace_uuid: uuid.UUID, chat_uuid: uuid.UUID) -> Path:
    path = root / str(workspace_uuid) / str(chat_uuid)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700)
    if os.geteuid() == 0:
        uid = sandbox_uid(chat_uuid)
        os.chown(path, uid, uid, follow_symlinks=False)
    return path


def remove_chat_workdir(root: Path, workspace_uuid: uuid.UUID, chat_uuid: uuid.UUID) -> None:
    """Remove a deleted chat's working directory, if it has one (links inside are removed, never
    followed)."""
    path = root / str(workspace_uuid) / str(chat_uuid)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class ChatFile:
    name: str
    """The path relative to the working directory (`/mnt/data` inside the sandbox)."""
    size: int
    media_type: str

    def wire(self) -> dict[str, object]:
        return {"name": self.name, "size": self.size, "mediaType": self.media_type}


@dataclass(frozen=True, slots=True)
class Snapshot:
    files: dict[str, tuple[int, int]]
    """Relative path -> (size, mtime_ns) of each regular file."""
    entries: int = 0
    """Files, directories and links seen (the walk stops past `MAX_FILES`)."""

    @classmethod
    def take(cls, root: Path) -> Snapshot:
        files: dict[str, tuple[int, int]] = {}
        entries = 0
        pending = [""]
        while pending and entries <= MAX_FILES:
            rel = pending.pop()
            try:
                with os.scandir(root / rel if rel else root) as found:
                    listed = [entry for _, entry in zip(range(MAX_FILES + 1), found, strict=False)]
            except OSError:
                continue
            for entry in listed:
                entries += 1
                name = f"{rel}/{entry.name}" if rel else entry.name
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    pending.append(name)
                elif stat.S_ISREG(info.st_mode):
                    files[name] = (info.st_size, info.st_mtime_ns)
        return cls(files, entries)

    @property
    def total_bytes(self) -> int:
        return sum(size for size, _ in self.files.values())

    @property
    def over_count(self) -> bool:
        return self.entries > MAX_FILES

    def written_since(self, before: Snapshot) -> list[ChatFile]:
        """Files new or changed since `before`, by name."""
        return [
            ChatFile(name, size, mimetypes.guess_type(name)[0] or "application/octet-stream")
            for name, (size, mtime) in sorted(self.files.items())
            if before.files.get(name) != (size, mtime)
        ]


def clear_workdir(root: Path) -> None:
    """Empty a working directory (links are removed, never followed: `shutil.rmtree` works by file
    descriptor on Linux)."""
    with os.scandir(root) as entries:
        for entry in entries:
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path)
                else:
                    os.unlink(entry.path)


def remove_inside(root: Path, names: list[str]) -> None:
    """Remove these files (links themselves, never what they point at)."""
    for name in names:
        parts = [p for p in name.split("/") if p and p not in (".", "..")]
        if not parts:
            continue
        fd = _open_dir(root, parts[:-1])
        if fd is None:
            continue
        try:
            with contextlib.suppress(OSError):
                os.unlink(parts[-1], dir_fd=fd)
        finally:
            os.close(fd)


def _open_dir(root: Path, parts: list[str]) -> int | None:
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(root, flags)
    except OSError:
        return None
    for part in parts:
        try:
            inner = os.open(part, flags, dir_fd=fd)
        except OSError:
            os.close(fd)
            return None
        os.close(fd)
        fd = inner
    return fd


def read_inside(root: Path, name: str, max_bytes: int) -> bytes | None:
    """The bytes of the regular file `name` under `root`, or None when it is not one (a link, a
    device, gone) or is larger than `max_bytes`."""
    parts = [p for p in name.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        return None
    fd = _open_dir(root, parts[:-1])
    if fd is None:
        return None
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        file_fd = os.open(parts[-1], flags, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    with os.fdopen(file_fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        data = handle.read(max_bytes + 1)
    return data if len(data) <= max_bytes else None
