"""Logs never carry client input raw: one event is one line, and a validation error is logged as
its field paths and error types, never the values."""

from __future__ import annotations

import logging

import pytest
from pydantic import BaseModel, ValidationError

from cargohold.logs import install_log_hygiene

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server, stream_body, stream_turn, wait_for_status

FORGED = "CRITICAL cargohold: forged line"
SECRET = "the user's private text"


def lines_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [caplog.handler.format(record) for record in caplog.records]


class TestLogLines:
    async def test_a_part_key_cannot_forge_a_log_line(
        self, server: Server, tenant: Tenant, llm: FakeLLM, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)
        llm.default = Reply(text="ok")
        body = stream_body(text=SECRET)
        body["parts"][0][f"evil\n{FORGED}"] = 1  # a key the AI SDK part models refuse: logged as an error
        response, chunks = await stream_turn(tenant.client, body)
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            await wait_for_status(tenant.client, chunks[0]["messageId"], {"success", "error"})
        for line in lines_of(caplog):
            assert "\n" not in line, line
        assert not any(line.startswith(FORGED) for line in caplog.text.splitlines())
        assert SECRET not in caplog.text


class TestRecordHygiene:
    """Unit tests: the record factory alone, with the exceptions our routes and turns log (the API
    test above depends on which of them the turn pipeline logs today)."""

    def test_validation_error_is_a_summary(self, caplog: pytest.LogCaptureFixture) -> None:
        install_log_hygiene()

        class Part(BaseModel):
            text: int

        try:
            Part.model_validate({"text": f"{SECRET}\n{FORGED}"})
        except ValidationError:
            logging.getLogger("cargohold.test").exception("turn %s failed", "m-1")
        [line] = lines_of(caplog)
        assert "\n" not in line
        assert SECRET not in line and "forged" not in line
        assert "turn m-1 failed" in line and "text [int_parsing]" in line

    def test_arguments_and_messages_are_escaped(self, caplog: pytest.LogCaptureFixture) -> None:
        install_log_hygiene()
        log = logging.getLogger("cargohold.test")
        log.warning("path %s", f"/v1/x\n{FORGED}")
        log.warning("status %d of %r", 404, "a\rb")
        try:
            raise KeyError(f"key\n{FORGED}")
        except KeyError:
            log.exception("lookup failed")
        for line in lines_of(caplog):
            assert "\n" not in line and "\r" not in line, line
        assert lines_of(caplog)[0].endswith("path /v1/x\\nCRITICAL cargohold: forged line")
        assert "status 404 of 'a\\\\rb'" in lines_of(caplog)[1]
        assert "KeyError" in lines_of(caplog)[2]
