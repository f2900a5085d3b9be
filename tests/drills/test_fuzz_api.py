"""Drill: schemathesis over the live server's `/openapi.json`, every operation the document has
(it grows with the API: nothing here names a route), with data that fits the schema and data
that does not. Whatever is sent, the server never answers 5xx, and every 4xx body is a JSON
object with a string `errorMessage` (the one error shape of the API). A 200 event stream ends
with `[DONE]`. And the document tells the truth: every status answered is documented for its
operation, and every JSON body matches its documented schema.

A second drill, `test_hostile_values_then_every_read` (issue 9), writes with every writing route
hostile values (deep JSON, lone surrogates, NUL, overflowing numbers, long strings, odd keys),
reads after each write what it touched and every list, and fails on any 5xx or a read that breaks.

Bounded and repeatable: a fixed number of examples per operation and mode, derandomized. The
generation runs in a worker thread (schemathesis and Hypothesis are synchronous) while the
server, on this test's event loop, answers."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
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


def upstream_model_failure(status: int, text: str) -> bool:
    """A 502 `modelCallFailed`: the helper routes that call a model (suggested actions, prompt
    helpers) report the model's failure, not ours. The fake model here is not scripted for their
    structured output, so it fails them; that is the upstream's answer, not a server error."""
    return status == 502 and '"reason":"modelCallFailed"' in text


def problem_with(response: schemathesis.Response) -> str | None:
    """What is wrong with this answer, if anything."""
    status = response.status_code
    if status >= 500 and not upstream_model_failure(status, response.text):
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


# ---------------------------------------------------------------------------------------------
# Hostile values (issue 9): every writing route gets deep JSON, lone surrogates, NUL, overflowing
# numbers, long strings and odd keys; after each write, the reads of what it touched, and at the
# end every reading route, must answer. Any 5xx, or a later read that is not a 2xx, fails.

HOSTILE_EXAMPLES = 30
"""Per writing route (derandomized): about 10 s per backend."""

_SPECIAL_TEXT = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "x\x00y",
    "line\nCRITICAL forged",
    "\r\n\t",
    "\u2028\u2029",
    "%s%n%(x)s{0}",
    "' OR 1=1 --",
    "../../etc/passwd",
    "💥" * 50,
    "x" * 70_000,
]
_SPECIAL_NUMBERS: list[Any] = [
    float("inf"),
    float("-inf"),
    float("nan"),
    1e308,
    10**30,
    -(10**30),
    2**63,
    2**63 - 1,
    -0.0,
    5e-324,
]


def _deep(levels: int, as_list: bool) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = [value] if as_list else {"k": value}
    return value


def hostile_strategies() -> dict[str, Any]:
    from hypothesis import strategies as st

    text = st.one_of(
        st.sampled_from(_SPECIAL_TEXT),
        st.text(st.characters(codec=None, exclude_categories=()), max_size=30),  # surrogates included
    )
    number = st.one_of(st.sampled_from(_SPECIAL_NUMBERS), st.integers(), st.floats())
    scalar = st.one_of(st.none(), st.booleans(), number, text)
    nested = st.recursive(
        scalar, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=12
    )
    deep = st.builds(_deep, st.integers(min_value=50, max_value=1200), st.booleans())
    value = st.one_of(nested, deep)
    return {"text": text, "number": number, "value": value, "key": text}


@dataclass
class Hostile:
    client: httpx.Client
    findings: Findings
    ids: dict[str, str] = field(default_factory=dict)
    chats: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def call(self, label: str, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response | None:
        content = None if body is None else json.dumps(body).encode()  # \\u escapes, NaN and Infinity as is
        try:
            response = self.client.request(
                method, path, content=content, params=params or None, headers={"content-type": "application/json"}
            )
        except httpx.HTTPError as exc:
            self.findings.add(label, f"no answer ({type(exc).__name__}: {exc}): {method} {path} {_show(body)}")
            return None
        self.findings.calls += 1
        if response.status_code >= 500 and not upstream_model_failure(response.status_code, response.text):
            self.findings.add(label, f"{response.status_code}: {method} {path} {_show(body)} -> {response.text[:200]}")
        elif response.status_code >= 400:
            try:
                error = response.json()
            except ValueError:
                error = None
            if not isinstance(error, dict) or not isinstance(error.get("errorMessage"), str):
                self.findings.add(label, f"{response.status_code} without errorMessage: {response.text[:200]}")
        return response

    def read(self, after: str, path: str, **params: Any) -> None:
        response = self.call(f"read after {after}", "GET", path, **params)
        if response is not None and response.status_code not in (200, 204):
            self.findings.add(f"read after {after}", f"GET {path} {params} answered {response.status_code}")

    def read_of(self, label: str) -> None:
        """After one write: the reads of what that route touched (each route's batch ends with `read_all`)."""
        agent = self.ids["agent"]
        if "/chats" in label or "/messages" in label:
            self.read(label, "/v1/ai/chats/list")
            self.read(label, f"/v1/ai/chats/{self.chats[-1]}")
            self.read(label, "/v1/ai/messages/list", chatUuid=self.chats[-1])
        elif "/agents" in label:
            self.read(label, "/v1/ai/agents/list")
            self.read(label, f"/v1/ai/agents/{agent}")
        elif "/releases" in label:
            self.read(label, "/v1/ai/releases/getDraft", agentUuid=agent)
            self.read(label, "/v1/ai/releases/list", agentUuid=agent)
            self.read(label, f"/v1/ai/agents/{agent}")
        elif "/tools" in label:
            self.read(label, "/v1/tools/list")
            self.read(label, f"/v1/tools/{self.ids['tool']}")

    def read_all(self, after: str) -> None:
        agent = self.ids["agent"]
        self.read(after, "/v1/ai/agents/list")
        self.read(after, f"/v1/ai/agents/{agent}")
        self.read(after, "/v1/ai/releases/getDraft", agentUuid=agent)
        self.read(after, "/v1/ai/releases/list", agentUuid=agent)
        self.read(after, "/v1/tools/list")
        self.read(after, f"/v1/tools/{self.ids['tool']}")
        self.read(after, "/v1/ai/chats/list")
        for chat in self.chats[-3:]:
            self.read(after, f"/v1/ai/chats/{chat}")
            self.read(after, "/v1/ai/messages/list", chatUuid=chat)
            self.read(after, f"/v1/ai/chats/{chat}/stream")
        for message in self.messages[-3:]:
            self.read(after, f"/v1/ai/messages/{message}")


def _show(body: Any) -> str:
    text = json.dumps(body)
    return text if len(text) < 300 else text[:300] + "…"


def fuzz_hostile(base_url: str, headers: dict[str, str]) -> Findings:
    from hypothesis import strategies as st

    s = hostile_strategies()
    findings = Findings()
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        h = Hostile(client, findings)
        agent = h.call("setup", "POST", "/v1/ai/agents", {"name": "fuzzed"})
        tool = h.call("setup", "POST", "/v1/tools", {"name": "fuzzed", "url": "http://127.0.0.1:9/hook"})
        chat = h.call("setup", "POST", "/v1/ai/chats", {"trigger": {"type": "app"}})
        assert agent is not None and tool is not None and chat is not None
        h.ids = {"agent": agent.json()["agent"]["uuid"], "tool": tool.json()["tool"]["uuid"]}
        h.chats.append(chat.json()["chat"]["uuid"])

        def stream(body: dict[str, Any]) -> None:
            offline = {"integrationSlug": "offline", "languageModelSlug": "offline"}
            response = h.call("POST /v1/ai/messages/stream", "POST", "/v1/ai/messages/stream", {**offline, **body})
            if response is not None and response.status_code == 200:
                if not response.text.rstrip().endswith("data: [DONE]"):
                    findings.add("POST /v1/ai/messages/stream", f"a stream cut short: …{response.text[-200:]!r}")
                h.chats.append(body["chatUuid"])
                listed = client.get("/v1/ai/messages/list", params={"chatUuid": body["chatUuid"]})
                if listed.status_code == 200:
                    h.messages.extend(m["uuid"] for m in listed.json()["messages"])

        def parts(text: str, key: str, value: Any) -> list[dict[str, Any]]:
            return [{"type": "text", "text": text, key: value}, {"type": "data-fuzz", "data": value}]

        agent_uuid, tool_uuid = h.ids["agent"], h.ids["tool"]
        routes: list[tuple[str, Any, Callable[..., None]]] = [
            (
                "POST /v1/ai/chats",
                st.tuples(s["text"], s["value"]),
                lambda a: h.call("POST /v1/ai/chats", "POST", "/v1/ai/chats", {
                    "trigger": {"type": "connector", "connectorUuid": str(uuid.uuid4()), "meta": {"m": a[1]}},
                    "name": a[0],
                }),
            ),
            (
                "PUT /v1/ai/chats/{uuid}",
                s["text"],
                lambda a: h.call("PUT /v1/ai/chats/{uuid}", "PUT", f"/v1/ai/chats/{h.chats[0]}", {"name": a}),
            ),
            (
                "POST /v1/ai/messages/stream",
                st.tuples(s["text"], s["key"], s["value"], s["number"]),
                lambda a: stream({"chatUuid": str(uuid.uuid4()), "parts": parts(*a[:3]), "temperature": a[3]}),
            ),
            (
                "POST /v1/ai/agents",
                st.tuples(s["text"], s["text"], s["value"]),
                lambda a: h.call("POST /v1/ai/agents", "POST", "/v1/ai/agents", {
                    "name": a[0] or "x",
                    "description": a[1],
                    "triggers": [{"type": "connector", "name": "t", "integrationSlug": "http", "config": {"c": a[2]}}],
                }),
            ),
            (
                "PUT /v1/ai/agents/{uuid}",
                st.tuples(s["value"], s["text"]),
                lambda a: h.call("PUT /v1/ai/agents/{uuid}", "PUT", f"/v1/ai/agents/{agent_uuid}", {
                    "template": {"t": a[0]},
                    "description": a[1],
                }),
            ),
            (
                "PUT /v1/ai/releases/updateDraft",
                st.tuples(s["value"], s["text"], s["number"], s["key"]),
                lambda a: h.call("PUT /v1/ai/releases/updateDraft", "PUT", "/v1/ai/releases/updateDraft", {
                    "agentUuid": agent_uuid,
                    "output": {"o": a[0]},
                    "heartbeat": {a[3]: a[0]},
                    "suggestedActions": [{"s": a[0]}],
                    "systemPrompt": a[1],
                    "maxSteps": a[2],
                }),
            ),
            (
                "POST /v1/ai/releases/deployDraft",
                st.tuples(s["text"], s["value"]),
                lambda a: h.call("POST /v1/ai/releases/deployDraft", "POST", "/v1/ai/releases/deployDraft", {
                    "agentUuid": agent_uuid,
                    "version": a[0],
                    "description": a[0],
                    "evaluator": {"e": a[1]},
                }),
            ),
            (
                "POST /v1/tools",
                st.tuples(s["text"], s["key"], s["value"]),
                lambda a: h.call("POST /v1/tools", "POST", "/v1/tools", {
                    "name": a[0] or "x",
                    "url": "http://127.0.0.1:9/hook",
                    "inputSchema": {"type": "object", "properties": {a[1]: a[2]}},
                    "headers": {"X-Fuzz": a[0]},
                }),
            ),
            (
                "PUT /v1/tools/{uuid}",
                st.tuples(s["text"], s["value"]),
                lambda a: h.call("PUT /v1/tools/{uuid}", "PUT", f"/v1/tools/{tool_uuid}", {
                    "description": a[0],
                    "inputSchema": {"type": "object", "properties": {"p": a[1]}},
                }),
            ),
            (
                "POST /v1/ai/mcpClients/connect",
                st.tuples(s["text"], s["number"], s["key"], s["value"]),
                lambda a: h.call("POST /v1/ai/mcpClients/connect", "POST", "/v1/ai/mcpClients/connect", {
                    "mcpClient": {
                        "name": a[0] or "m",
                        "url": "http://127.0.0.1:9/mcp",
                        "authentication": {"issuedAt": a[0], "accessToken": "t", "expiresIn": a[1], a[2]: a[3]},
                    }
                }),
            ),
        ]  # fmt: skip
        for label, strategy, write in routes:
            fuzz_route(h, label, strategy, write)
        h.read_all("everything")
    return findings


def fuzz_route(h: Hostile, label: str, strategy: Any, write: Callable[..., None]) -> None:
    @hypothesis.settings(
        max_examples=HOSTILE_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(args=strategy)
    def run(args: Any) -> None:
        write(args)
        h.read_of(label)

    run()
    h.read_all(label)


async def test_hostile_values_then_every_read(allowed: Server, owner: Tenant) -> None:
    headers = {"Authorization": str(owner.client.headers["Authorization"])}
    findings = await asyncio.to_thread(fuzz_hostile, allowed.base_url, headers)
    assert findings.calls >= 10 * HOSTILE_EXAMPLES
    assert not findings.problems, f"{len(findings.problems)} routes misbehaved:\n\n{findings.report()}"
