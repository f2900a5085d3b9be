"""Drill: schemathesis over the live server's `/openapi.json`, every operation the document has
(it grows with the API: nothing here names a route), with data that fits the schema and data
that does not. Whatever is sent, the server never answers 5xx, and every 4xx body is a JSON
object with a string `errorMessage` (the one error shape of the API). A 200 event stream ends
with `[DONE]`. And the document tells the truth: every status answered is documented for its
operation, and every JSON body matches its documented schema.

Bounded and repeatable: a fixed number of examples per operation and mode, derandomized. The
generation runs in a worker thread (schemathesis and Hypothesis are synchronous) while the
server, on this test's event loop, answers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply
from ..harness import Server

pytestmark = pytest.mark.drill

MAX_EXAMPLES = 15
"""Per operation and generation mode (positive, negative)."""
PROBLEMS_PER_OPERATION = 3
CONFORMANCE = [status_code_conformance, response_schema_conformance]


@dataclass
class Findings:
    operations: list[str] = field(default_factory=list)
    calls: int = 0
    problems: dict[str, list[str]] = field(default_factory=dict)

    def add(self, operation: str, problem: str) -> None:
        found = self.problems.setdefault(operation, [])
        if len(found) < PROBLEMS_PER_OPERATION and problem not in found:
            found.append(problem)

    def report(self) -> str:
        return "\n\n".join(f"{op}:\n" + "\n".join(f"  - {p}" for p in found) for op, found in self.problems.items())


def problem_with(response: schemathesis.Response) -> str | None:
    """What is wrong with this answer, if anything."""
    status = response.status_code
    if status >= 500:
        return f"{status} (no request may cause a server error): {response.text[:200]!r}"
    content_type = next((v[0] for k, v in response.headers.items() if k.lower() == "content-type" and v), "")
    if 400 <= status < 500:
        try:
            body: Any = response.json()
        except ValueError:
            return f"{status} with a body that is not JSON ({content_type}): {response.text[:200]!r}"
        if not isinstance(body, dict) or not isinstance(body.get("errorMessage"), str):
            return f"{status} without a string `errorMessage`: {json.dumps(body)[:200]}"
        if "reason" in body and not isinstance(body["reason"], str):
            return f"{status} with a `reason` that is not a string: {json.dumps(body)[:200]}"
    elif (
        status == 200
        and content_type.startswith("text/event-stream")
        and not response.stream_cut_short
        and not response.text.rstrip().endswith("data: [DONE]")
    ):
        return f"an event stream that does not end with [DONE]: ...{response.text[-200:]!r}"
    return None


def fuzz(base_url: str, headers: dict[str, str]) -> Findings:
    findings = Findings()
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", timeout=30)
    session = requests.Session()
    try:
        for result in schema.get_all_operations():
            if not hasattr(result, "ok"):
                findings.add("(schema)", f"an operation schemathesis cannot read: {result.err()}")
                continue
            operation = result.ok()
            findings.operations.append(operation.label)
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz_operation(operation, mode, base_url, headers, session, findings)
    finally:
        session.close()
    return findings


def fuzz_operation(
    operation: schemathesis.APIOperation,
    mode: GenerationMode,
    base_url: str,
    headers: dict[str, str],
    session: requests.Session,
    findings: Findings,
) -> None:
    label = operation.label

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        findings.calls += 1
        try:
            response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        except requests.RequestException as exc:
            findings.add(label, f"no answer ({type(exc).__name__}: {exc})\n    {case.as_curl_command()}")
            return
        problem = problem_with(response)
        if problem is None:
            try:
                case.validate_response(response, checks=CONFORMANCE, headers=headers)
            except FailureGroup as failures:
                problem = "not as documented: " + " | ".join(str(failures).split("\n\n")[1:3])[:400]
        if problem:
            curl = case.as_curl_command(headers={**headers, "Authorization": "Bearer $TOKEN"})
            findings.add(label, f"{problem}\n    {curl}")

    run()


async def test_fuzz_every_operation(server: Server, tenant: Tenant, llm: FakeLLM) -> None:
    llm.default = Reply(text="Fuzzed, and fine.")  # turns the fuzzer starts get an answer
    headers = {"Authorization": str(tenant.client.headers["Authorization"])}
    findings = await asyncio.to_thread(fuzz, server.base_url, headers)
    assert len(findings.operations) >= 10, findings.operations  # the document was read, not skipped
    assert findings.calls >= len(findings.operations) * 2
    assert not findings.problems, f"{len(findings.problems)} operations misbehaved:\n\n{findings.report()}"
