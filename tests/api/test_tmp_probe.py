import logging
from ..harness import Server, new_uuid, stream_turn

async def test_probe(server: Server, tenant, caplog) -> None:
    caplog.set_level(logging.INFO)
    for parts in (
        [{"type": "text", "text": "hi", "evil\nCRITICAL forged": 1}],
        [{"type": "data-x", "data": {"k\nFORGED": "v"}}],
        [{"type": "file", "url": "x\nFORGED", "mediaType": "image/png"}],
        [{"type": "tool-x\nFORGED", "toolCallId": "1", "state": "input-available", "input": {}}],
        [{"type": "text", "text": 5}],
    ):
        r, chunks = await stream_turn(tenant.client, {"chatUuid": new_uuid(), "parts": parts})
        print(r.status_code, chunks[-3:] if chunks else r.content[:200])
    for rec in caplog.records:
        print("REC", rec.name, rec.levelname, repr(rec.getMessage()[:300]), bool(rec.exc_info))
        if rec.exc_info: print("EXC", repr(str(rec.exc_info[1])[:500]))
