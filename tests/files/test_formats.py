"""Every supported format uploaded over HTTP is sniffed from its bytes and extracted to `ready`,
its text searchable; a zip bomb and an unreadable file end `error` with a clear `indexError`,
and the server goes on indexing."""

from __future__ import annotations

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import kind, stream_body, stream_turn
from .formats import FORMATS, MARK, content, zip_bomb
from .helpers import uploaded, wait_indexed


async def test_each_format_reaches_ready_and_is_found(ours: Tenant, llm: FakeLLM) -> None:
    files = {}
    for name, data, media_type in FORMATS:
        # The client claims nothing useful: the type comes from the bytes (and the name, for text).
        file = await uploaded(ours.client, name, content(name, data))
        assert file["contentType"] == media_type, name
        files[file["uuid"]] = name
    for file_uuid, name in files.items():
        done = await wait_indexed(ours.client, file_uuid)
        assert done["indexStatus"] == "ready", (name, done["indexError"])

    llm.script(Reply(tool_calls=[ToolCall("file_search", {"query": "Zephyr launches"}, id="z")]), Reply(text="Oct."))
    body = stream_body(text="When does Zephyr launch?", capabilities=[{"slug": "fileSearch"}])
    _, chunks = await stream_turn(ours.client, body)
    (out,) = [c for c in chunks if kind(c) == "tool-output-available"]
    results = out["output"]["data"]["results"]
    # The best passage is the one that says it (the rest of the top-k are the vector leg's nearest).
    assert results and "Zephyr" in results[0]["text"], results
    assert "var x" not in str(results)  # the html's script never reaches the index


async def test_bombs_and_unreadable_files_end_in_error(ours: Tenant) -> None:
    bomb = await uploaded(ours.client, "bomb.docx", zip_bomb())
    broken = await uploaded(ours.client, "broken.pdf", b"%PDF-1.7\n" + b"\x00garbage" * 100)
    fine = await uploaded(ours.client, "fine.txt", f"{MARK}\n".encode())
    for file in (bomb, broken):
        done = await wait_indexed(ours.client, file["uuid"])
        assert done["indexStatus"] == "error", done
        assert done["indexError"] and "Traceback" not in done["indexError"]
    assert (await wait_indexed(ours.client, fine["uuid"]))["indexStatus"] == "ready"
