"""The `codeInterpreter` capability over real HTTP: the fake LLM calls `run_python`, the code runs
in bubblewrap, and what the user sees is the stream and the stored message.

The escape battery runs on one server with small limits (so the infinite loop, the sleep and the
fork bomb end quickly); the numpy/pandas and file tests on a second one with room for pandas'
import. Both on SQLite: the sandbox does not touch the database (the PostgreSQL path of a tool
turn is covered by the webSearch tests).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic_ai import models as pydantic_ai_models

from cargohold.settings import Settings
from cargohold.store.workspaces import create_token, create_workspace

from ..conftest import TEST_PRICES
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import Server, kind, start_server, stream_body, stream_turn, wait_for_status
from .test_web_search import outputs

pytestmark = pytest.mark.asyncio(loop_scope="module")
CAPABILITY = [{"slug": "codeInterpreter"}]
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Box:
    server: Server
    client: httpx.AsyncClient
    settings: Settings
    llm: FakeLLM


def _settings(root: Path, llm: FakeLLM, **limits: Any) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{root}/cargohold.db",
        data_dir=root,
        sandbox_dir=root / "sandbox",
        redis_url=None,
        bootstrap=False,
        openai_api_key="test-key",
        openai_base_url=llm.openai_base_url,
        default_model="openai:gpt-test",
        model_prices=TEST_PRICES,
        builtin_tools=[],
        model_max_retries=0,
        **limits,
    )


@contextlib.asynccontextmanager
async def _box(root: Path, llm: FakeLLM, **limits: Any) -> AsyncIterator[Box]:
    settings = _settings(root, llm, **limits)
    async with start_server(settings) as server:
        async with server.state.sessions() as session, session.begin():
            _, user = await create_workspace(session, "sandbox")
            token = await create_token(session, user)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=60) as client:
            yield Box(server, client, settings, llm)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fake() -> AsyncIterator[FakeLLM]:
    pydantic_ai_models.ALLOW_MODEL_REQUESTS = True
    try:
        async with FakeLLM() as llm:
            yield llm
    finally:
        pydantic_ai_models.ALLOW_MODEL_REQUESTS = False


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def tight(fake: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Box]:
    """Small limits: the battery's loops and bombs end within seconds."""
    limits = {
        "sandbox_cpu_seconds": 1,
        "sandbox_wall_seconds": 5.0,
        "sandbox_memory_mb": 256,
        "sandbox_max_processes": 16,
        "sandbox_max_file_mb": 1,
        "sandbox_max_output_bytes": 4000,
    }
    async with _box(tmp_path_factory.mktemp("tight"), fake, **limits) as box:
        yield box


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def roomy(fake: FakeLLM, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Box]:
    """Room for numpy and pandas to import on a loaded machine."""
    limits = {"sandbox_cpu_seconds": 60, "sandbox_wall_seconds": 120.0, "sandbox_memory_mb": 1024}
    async with _box(tmp_path_factory.mktemp("roomy"), fake, **limits) as box:
        yield box


async def run_turn(box: Box, chat_uuid: str, *codes: str) -> tuple[list[Any], list[Any]]:
    """One turn whose model calls `run_python` once per code (in one step), then answers "done".
    Returns the outputs (in call order) and the stream's chunks."""
    calls = [ToolCall("run_python", {"code": code}) for code in codes]
    box.llm.script(Reply(tool_calls=calls), Reply(text="done"))
    response, chunks = await stream_turn(box.client, stream_body(chat_uuid, text="run it", capabilities=CAPABILITY))
    assert response.status_code == 200, response.text
    return outputs(chunks).get("run_python", []), chunks


def _count(root: Path, pattern: str) -> int:
    return sum(1 for _ in root.rglob(pattern))


def _any_exists(*paths: Path) -> bool:
    return any(path.exists() for path in paths)


def _key_file(settings: Settings) -> Path:
    return Path(settings.database_url.split("///", 1)[1]).parent / "cargohold.key"


ESCAPES = {
    "sockets": """
import json, socket, sys
found = {}
for port in [int(p) for p in sys.argv[1:]] or PORTS:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=3).close()
        found[port] = "connected"
    except OSError as exc:
        found[port] = type(exc).__name__
print(json.dumps(found))
""",
    "files": """
import json, os
found = {}
for path in PATHS:
    try:
        with open(path, "rb") as f:
            found[path] = "read %d bytes" % len(f.read())
    except OSError as exc:
        found[path] = type(exc).__name__
print(json.dumps({"files": found, "root": sorted(os.listdir("/")), "env": dict(os.environ)}))
""",
    "proc": """
import json, os
pids = [p for p in os.listdir("/proc") if p.isdigit()]
cmds = {p: open(f"/proc/{p}/cmdline", "rb").read().replace(b"\\0", b" ").decode() for p in pids}
print(json.dumps({"pids": pids, "cmds": cmds, "uid": os.getuid()}))
""",
    "writes": """
import json
found = {}
for path in ["/opt/venv/planted", "/usr/planted", "/planted", "/mnt/planted", "/proc/planted", "/dev/planted",
             "../planted"]:
    try:
        open(path, "w").write("x")
        found[path] = "written"
    except OSError as exc:
        found[path] = type(exc).__name__
print(json.dumps(found))
""",
    "fork_bomb": "import os\nwhile True:\n    os.fork()",
    "allocation": "x = bytearray(4 * 1024 ** 3)\nprint('allocated')",
    "loop": "while True:\n    pass",
    "sleep": "import time\ntime.sleep(600)",
    "output": "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * (1024 * 1024))",
    "big_file": "open('big.bin', 'wb').write(b'x' * (5 * 1024 * 1024))",
    "many_files": "for i in range(1500):\n    open(f'f{i}', 'w').close()\nprint('made')",
}


async def test_escape_battery_is_contained_and_the_server_stays_up(tight: Box) -> None:
    settings = tight.settings
    port = int(tight.server.base_url.rsplit(":", 1)[1])
    repo = REPO
    paths = [
        str(repo / "pyproject.toml"),
        settings.database_url.split("///", 1)[1],
        str(_key_file(settings)),
        "/etc/passwd",
        "/root/.bash_history",
        str(Path(os.environ.get("HOME", "/root")) / ".ssh" / "id_rsa"),
    ]
    assert _key_file(settings).exists() and repo.joinpath("pyproject.toml").exists()
    codes = dict(ESCAPES)
    codes["sockets"] = f"PORTS = {[5432, 6379, port]!r}\n" + codes["sockets"]
    codes["files"] = f"PATHS = {paths!r}\n" + codes["files"]
    os.environ["CARGOHOLD_SANDBOX_CANARY"] = "canary-in-the-server-environment"

    health: list[int] = []
    done = asyncio.Event()

    async def poll() -> None:
        async with httpx.AsyncClient(base_url=tight.server.base_url, timeout=10) as client:
            while not done.is_set():
                health.append((await client.get("/healthz")).status_code)
                with contextlib.suppress(TimeoutError):  # a sample every 200 ms, until the turn is done
                    await asyncio.wait_for(done.wait(), 0.2)

    poller = asyncio.create_task(poll())
    try:
        found, chunks = await run_turn(tight, str(uuid.uuid4()), *codes.values())
    finally:
        done.set()
        await poller
        del os.environ["CARGOHOLD_SANDBOX_CANARY"]
    result = dict(zip(codes, found, strict=True))
    for name, output in result.items():
        assert "error" not in output, (name, output)  # each is a result the model can read, not a failed call

    sockets = json.loads(result["sockets"]["stdout"])
    assert set(sockets.values()) <= {"ConnectionRefusedError", "OSError", "TimeoutError"}, sockets
    assert len(sockets) == 3

    files = json.loads(result["files"]["stdout"])
    assert set(files["files"].values()) <= {"FileNotFoundError", "PermissionError"}, files["files"]
    assert "work" not in files["root"] and "etc" not in files["root"]
    assert set(files["env"]) <= {
        "PATH",
        "HOME",
        "TMPDIR",
        "LANG",
        "PWD",
        "LC_CTYPE",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONUNBUFFERED",
        "MPLBACKEND",
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
    }, files["env"]
    assert "canary" not in result["files"]["stdout"]

    proc = json.loads(result["proc"]["stdout"])
    assert len(proc["pids"]) <= 4, proc  # bwrap's init, the shell of setpriv/prlimit exec'd into python
    assert not any("pytest" in c or "uvicorn" in c for c in proc["cmds"].values()), proc
    assert proc["uid"] != 0
    assert str(tight.settings.sandbox_dir) not in result["proc"]["stdout"]  # bwrap's own command line says nothing

    writes = json.loads(result["writes"]["stdout"])
    assert len(writes) == 7 and "written" not in writes.values(), writes
    assert not _any_exists(repo / ".venv" / "planted", Path("/usr/planted"))

    assert result["fork_bomb"]["exitCode"] != 0 and "BlockingIOError" in result["fork_bomb"]["stderr"]
    assert "MemoryError" in result["allocation"]["stderr"] and "allocated" not in result["allocation"]["stdout"]
    assert "CPU time limit" in result["loop"].get("limit", "") or "wall clock" in result["loop"].get("limit", "")
    assert result["sleep"]["exitCode"] is None and "wall clock limit (5 s)" in result["sleep"]["limit"]
    output = result["output"]
    assert len(output["stdout"].encode()) < 5000 and "more bytes of stdout were dropped" in output["stdout"]
    assert "SIGXFSZ" in result["big_file"].get("limit", "") or "File too large" in result["big_file"]["stderr"]
    many = result["many_files"]
    assert many["stdout"] == "made\n" and many["files"] == []
    assert "at most 1000 files and directories: it was emptied" in many["limit"]
    # The f0...f1499 it made are removed on the host (matched by name: a chat's workdir, named by its
    # uuid, may start with "f" too).
    assert settings.sandbox_dir is not None
    assert [p for p in settings.sandbox_dir.rglob("f*") if re.fullmatch(r"f\d+", p.name)] == []

    # Up during (answers while the battery ran) and after.
    assert health and set(health) == {200}
    assert (await tight.client.get("/healthz")).status_code == 200
    assert chunks[-1] == "[DONE]"


async def test_numpy_pandas_files_persist_in_their_chat_only(roomy: Box) -> None:
    chat, other = str(uuid.uuid4()), str(uuid.uuid4())
    [first], chunks = await run_turn(
        roomy,
        chat,
        "import numpy as np, pandas as pd\n"
        "df = pd.DataFrame({'x': np.arange(1, 5)})\n"
        "df.to_csv('table.csv', index=False)\n"
        "print(df.x.sum(), np.__name__)",
    )
    assert first["stdout"] == "10 numpy\n" and first["exitCode"] == 0, first
    [listed] = first["files"]
    assert {k: listed[k] for k in ("name", "size", "mediaType")} == {
        "name": "table.csv",
        "size": 10,
        "mediaType": "text/csv",
    }
    file_chunks = [c for c in chunks if kind(c) == "file"]
    assert len(file_chunks) == 1 and file_chunks[0]["mediaType"] == "text/csv"
    assert file_chunks[0]["url"] == f"/v1/content/files/{listed['fileUuid']}/raw"
    assert (await roomy.client.get(file_chunks[0]["url"])).content == b"x\n1\n2\n3\n4\n"

    start = next(c for c in chunks if kind(c) == "start")
    message = await wait_for_status(roomy.client, start["messageId"], {"success"})
    assert [p["mediaType"] for p in message["parts"] if p["type"] == "file"] == ["text/csv"]
    assert message["evaluatedTools"]["run_python"]["kind"] == "capability"

    [again], _ = await run_turn(roomy, chat, "print(open('table.csv').read().split())")
    assert again["stdout"] == "['x', '1', '2', '3', '4']\n" and again["files"] == []

    [elsewhere], _ = await run_turn(roomy, other, "import os\nprint(os.listdir('.'))\nopen('table.csv')")
    assert elsewhere["stdout"] == "[]\n" and "FileNotFoundError" in elsewhere["stderr"]

    # Deleting the chat removes its working directory (the other chat's stays).
    assert roomy.settings.sandbox_dir is not None
    assert _count(roomy.settings.sandbox_dir, chat) == 1 and _count(roomy.settings.sandbox_dir, other) == 1
    assert (await roomy.client.delete(f"/v1/ai/chats/{chat}")).status_code == 200
    assert _count(roomy.settings.sandbox_dir, chat) == 0 and _count(roomy.settings.sandbox_dir, other) == 1


async def test_written_files_are_chat_files_served_to_their_workspace_only(roomy: Box) -> None:
    chat = str(uuid.uuid4())
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
    )
    code = (
        "import base64\n"
        "with open('big.csv', 'w') as f:\n"
        "    f.write('n,square\\n')\n"
        "    i = 0\n"
        "    while f.tell() < 1024 * 1024:\n"
        "        f.write(f'{i},{i * i}\\n'); i += 1\n"
        f"open('dot.png', 'wb').write(base64.b64decode({base64.b64encode(png).decode()!r}))\n"
        "print('ok')"
    )
    [out], chunks = await run_turn(roomy, chat, code)
    assert out["stdout"] == "ok\n" and out["exitCode"] == 0, out
    by_name = {f["name"]: f for f in out["files"]}
    assert set(by_name) == {"big.csv", "dot.png"} and by_name["big.csv"]["size"] > 1024 * 1024
    urls = {c["mediaType"]: c["url"] for c in chunks if kind(c) == "file"}
    assert urls == {
        "text/csv": f"/v1/content/files/{by_name['big.csv']['fileUuid']}/raw",
        "image/png": f"/v1/content/files/{by_name['dot.png']['fileUuid']}/raw",
    }
    csv = await roomy.client.get(urls["text/csv"])
    assert csv.status_code == 200 and len(csv.content) == by_name["big.csv"]["size"]
    assert csv.content.startswith(b"n,square\n0,0\n1,1\n2,4\n")
    assert (await roomy.client.get(urls["image/png"])).content == png
    listing = await roomy.client.get(f"/v1/content/files/{by_name['dot.png']['fileUuid']}")
    assert listing.status_code == 200, listing.text
    assert listing.json()["file"]["isTemporary"] is True and listing.json()["file"]["chatUuid"] == chat

    async with roomy.server.state.sessions() as session, session.begin():
        _, stranger = await create_workspace(session, "elsewhere")
        token = await create_token(session, stranger)
    async with httpx.AsyncClient(
        base_url=roomy.server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as other:
        for url in urls.values():
            assert (await other.get(url)).status_code == 404

    start = next(c for c in chunks if kind(c) == "start")
    message = await wait_for_status(roomy.client, start["messageId"], {"success"})
    assert sorted(p["url"] for p in message["parts"] if p["type"] == "file") == sorted(urls.values())

    [again], _ = await run_turn(
        roomy, chat, "print(sum(1 for _ in open('big.csv')) > 1000, len(open('dot.png','rb').read()))"
    )
    assert again["stdout"] == f"True {len(png)}\n" and again["files"] == [], again


async def test_a_symlink_left_in_the_workdir_is_not_followed(roomy: Box) -> None:
    key = _key_file(roomy.settings)
    [out], chunks = await run_turn(roomy, str(uuid.uuid4()), f"import os\nos.symlink({str(key)!r}, 'key.txt')")
    assert out["exitCode"] == 0 and out["files"] == []  # a link is not a file of the chat
    assert not [c for c in chunks if kind(c) == "file"]


async def test_without_a_working_sandbox_the_capability_is_a_400(
    fake: FakeLLM, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = tmp_path_factory.mktemp("broken")
    async with _box(root, fake, sandbox_python=root / "no-such-venv") as box:
        response = await box.client.post("/v1/ai/messages/stream", json=stream_body(capabilities=CAPABILITY))
        assert response.status_code == 400
        message = response.json()["errorMessage"]
        assert "codeInterpreter" in message and "bubblewrap" in message and "unsandboxed" in message
