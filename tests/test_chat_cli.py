"""`cargohold chat` in a real terminal (tmux): it streams a turn with its tool call, Ctrl-C stops
a turn and not the program, `/new` starts a chat, `/quit` leaves; and against a remote server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TMUX = shutil.which("tmux")
CLI = Path(sys.executable).parent / "cargohold"
pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install -y tmux)")


class Terminal:
    def __init__(self, name: str) -> None:
        self.name = name

    def keys(self, *keys: str) -> None:
        subprocess.run([TMUX, "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(
            [TMUX, "capture-pane", "-p", "-J", "-S", "-200", "-t", self.name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def wait_for(self, text: str, timeout: float = 30.0, after: int = 0) -> str:
        """Wait until `text` is on the screen (past the first `after` characters); a condition
        polled with a deadline, never a fixed sleep."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen[after:]:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on the screen within {timeout:g}s:\n{screen}")
            time.sleep(0.05)

    def wait_prompt(self, timeout: float = 30.0) -> None:
        """Wait until the chat waits for a line (its last line is the bare `>` prompt): keys typed
        before that may be dropped when the line editor takes over the terminal."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [line for line in self.screen().splitlines() if line.strip()]
            if lines and lines[-1].strip() == ">":
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"no prompt within {timeout:g}s:\n{self.screen()}")
            time.sleep(0.05)

    def alive(self) -> bool:
        out = subprocess.run(
            [TMUX, "list-panes", "-t", self.name, "-F", "#{pane_dead}"], capture_output=True, text=True
        )
        return out.returncode == 0 and out.stdout.strip() == "0"


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    name = f"cargohold-chat-{uuid.uuid4().hex[:8]}"
    env = {
        "CARGOHOLD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/chat.db",
        "CARGOHOLD_OFFLINE_TOKEN_DELAY": "0.05",
        "CARGOHOLD_DEFAULT_MODEL": "offline:offline",
    }
    exports = " ".join(f"{k}={v}" for k, v in env.items())
    command = f"cd {tmp_path} && env {exports} {CLI} chat; echo CHAT-EXITED; sleep 60"
    subprocess.run([TMUX, "new-session", "-d", "-s", name, "-x", "160", "-y", "50", command], check=True)
    try:
        yield Terminal(name)
    finally:
        subprocess.run([TMUX, "kill-session", "-t", name], capture_output=True)


def test_chat_streams_a_turn_stops_one_and_quits(terminal: Terminal) -> None:
    terminal.wait_for("Type a message")
    terminal.wait_prompt()
    terminal.keys("Please calculate (2 + 3) * 7", "Enter")
    screen = terminal.wait_for("credits")
    assert '> calculate {"expression": "(2 + 3) * 7"}' in screen
    assert '"result": 35' in screen and "the result is 35" in screen

    terminal.wait_prompt()
    mark = len(terminal.screen())
    terminal.keys("tell me a long story about the sea and the ships and the harbour", "Enter")
    terminal.wait_for("I ", after=mark)  # the answer is streaming
    terminal.keys("C-c")
    terminal.wait_for("stopped", after=mark)
    assert terminal.alive() and "CHAT-EXITED" not in terminal.screen()  # the program goes on

    terminal.wait_prompt()
    terminal.keys("/new", "Enter")
    terminal.wait_for("new chat")
    terminal.wait_prompt()
    terminal.keys("calculate 6 * 7", "Enter")
    terminal.wait_for("the result is 42")
    terminal.wait_prompt()
    terminal.keys("/quit", "Enter")
    terminal.wait_for("CHAT-EXITED")


def test_chat_with_a_remote_server(tmp_path: Path) -> None:
    """`--url` and `CARGOHOLD_TOKEN`: the chat talks to a running `cargohold serve` (another process)."""
    import re

    from .serve_process import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARGOHOLD_")}
    env |= {
        "CARGOHOLD_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/remote.db",
        "CARGOHOLD_DEFAULT_MODEL": "offline:offline",
    }
    server = subprocess.Popen(
        [str(CLI), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    name = f"cargohold-chat-{uuid.uuid4().hex[:8]}"
    try:
        assert server.stderr is not None
        seen = ""
        while "Application startup complete" not in seen:
            line = server.stderr.readline()
            assert line, seen
            seen += line
        token = re.search(r"(chk_\S+)", seen)
        assert token is not None
        chat = f"env CARGOHOLD_TOKEN={token[1]} {CLI} chat --url http://127.0.0.1:{port}"
        command = f"cd {tmp_path} && {chat}; echo CHAT-EXITED; sleep 60"
        subprocess.run([TMUX, "new-session", "-d", "-s", name, "-x", "160", "-y", "50", command], check=True)
        terminal = Terminal(name)
        terminal.wait_for("Type a message")
        terminal.wait_prompt()
        terminal.keys("Please calculate 6 * 7", "Enter")
        terminal.wait_for("the result is 42")
        terminal.wait_prompt()
        terminal.keys("/quit", "Enter")
        terminal.wait_for("CHAT-EXITED")
    finally:
        subprocess.run([TMUX, "kill-session", "-t", name], capture_output=True)
        server.terminate()
        server.wait(timeout=10)
