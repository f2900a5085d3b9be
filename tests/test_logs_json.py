"""`CARGOHOLD_LOG_FORMAT=json`: one JSON object per line, and every line a turn logs carries its
message uuid."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from cargohold.db.engine import make_engine
from cargohold.logs import JsonFormatter, install_log_hygiene, message_uuid_var

from .harness import new_uuid, stream_body, stream_turn, wait_until
from .serve_process import serve_env, serve_process


async def test_a_turns_lines_carry_its_message_uuid() -> None:
    install_log_hygiene()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("cargohold.test.json")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:

        async def turn() -> None:
            message_uuid_var.set("m-1")
            logger.warning("inside a turn: %s", "two\nlines")

        await asyncio.create_task(turn())
        logger.info("outside")
    finally:
        logger.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    inside, outside = (json.loads(line) for line in lines)
    assert inside["messageUuid"] == "m-1" and inside["level"] == "warning"
    assert inside["message"] == "inside a turn: two\\nlines" and inside["logger"] == "cargohold.test.json"
    assert "messageUuid" not in outside


async def test_serve_logs_json_lines(make_settings: Any) -> None:
    """A real `cargohold serve`: every log line is JSON, and the warning the run logs about a
    stored part it leaves out of the history names the turn's message."""
    settings = make_settings(bootstrap=True)
    env = serve_env(settings, CARGOHOLD_LOG_FORMAT="json")
    async with serve_process(env) as served:
        headers = {"Authorization": f"Bearer {served.token}"}
        async with httpx.AsyncClient(base_url=served.base_url, headers=headers, timeout=30) as client:
            chat_uuid = new_uuid()
            await stream_turn(client, stream_body(chat_uuid, "first"))
            engine = make_engine(settings.database_url)
            try:
                async with engine.begin() as conn:  # a part stored before parts were checked
                    await conn.execute(
                        sa.text("UPDATE messages SET parts = :parts WHERE type = 'user'"),
                        {"parts": json.dumps([{"type": "text", "text": "first"}, {"type": "foo"}])},
                    )
            finally:
                await engine.dispose()
            _, chunks = await stream_turn(client, stream_body(chat_uuid, "second"))
            second = chunks[0]["messageId"]
            await wait_until(lambda: any("history: part" in line for line in served.log), timeout=10)
    records = [json.loads(line) for line in served.log if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    # Every line is a JSON object, but the first start's token banner (printed, indented, not logged).
    assert [line for line in served.log if line.strip() and not line.startswith(("{", " "))] == []
    warning = next(r for r in records if r["message"].startswith("history: part"))
    assert warning["messageUuid"] == second and uuid.UUID(second)
