"""Model resources in turns, driven by the fake model server: the resource is a tool over a table
named by its slug, narrowed to its filter and selected columns; the model gets exactly the rows it
may see, refused queries are error results and the turn goes on; write-back tools stay inside the
filter; a resource whose model is gone is a `data-tool-error` part."""

from __future__ import annotations

from typing import Any

from ..api.test_agent_turns import agent_with
from ..conftest import Tenant
from ..fakes.fake_llm import FakeLLM, Reply, ToolCall
from ..harness import kind, stream_body, stream_turn
from .helpers import create_model, create_records, query

PAID = {"conjonction": "and", "groups": [{"conjonction": "and", "conditions": [
    {"kind": "boolean", "columnSlug": "paid", "operator": "isTrue"}
]}]}  # fmt: skip


def resource(model: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "kind": "model",
        "slug": "orders",
        "name": "Paid orders",
        "description": "The team's paid orders.",
        "prompt": "Use it to answer questions about revenue.",
        "modelUuid": model["uuid"],
        "filter": PAID,
        "selectedColumnSlugs": ["name", "amount"],
        **fields,
    }


def of_kind(chunks: list[Any], name: str) -> list[dict[str, Any]]:
    return [c for c in chunks if kind(c) == name]


async def seeded(tenant: Tenant) -> dict[str, Any]:
    model = await create_model(tenant)
    rows = [
        {"_id": "o1", "name": "Ada", "amount": 30, "paid": True, "meta": {"secret": "s1"}},
        {"_id": "o2", "name": "Grace", "amount": 20, "paid": False, "meta": {"secret": "s2"}},
        {"_id": "o3", "name": "Linus", "amount": 10, "paid": True},
    ]
    await create_records(tenant, model, rows)
    return model


async def message_of(tenant: Tenant, chunks: list[Any]) -> dict[str, Any]:
    return (await tenant.client.get(f"/v1/ai/messages/{chunks[0]['messageId']}")).json()["message"]


class TestModelResources:
    async def test_the_model_gets_exactly_its_rows(self, tenant: Tenant, llm: FakeLLM) -> None:
        model = await seeded(tenant)
        llm.script(
            Reply(tool_calls=[ToolCall("orders", {"sql": "SELECT * FROM orders ORDER BY amount DESC"}, id="q1")]),
            Reply(text="Ada and Linus paid."),
        )
        response, chunks = await stream_turn(tenant.client, stream_body(text="Who paid?", resources=[resource(model)]))
        assert response.status_code == 200, response.text

        offered = {t["function"]["name"]: t["function"] for t in llm.requests[0]["tools"]}
        description = offered["orders"]["description"]
        for words in (
            "Paid orders",
            "The team's paid orders.",
            "revenue",
            "`orders`",
            "amount (number)",
            "name (string)",
        ):
            assert words in description, words
        assert "paid (boolean)" not in description and "meta" not in description
        assert offered["orders"]["parameters"]["required"] == ["sql"]

        rows = [{"_id": "o1", "name": "Ada", "amount": 30}, {"_id": "o3", "name": "Linus", "amount": 10}]
        output = {"outcome": "executed", "data": {"rows": rows, "truncated": False}}
        assert of_kind(chunks, "tool-output-available") == [
            {"type": "tool-output-available", "toolCallId": "q1", "output": output}
        ]
        message = await message_of(tenant, chunks)
        assert message["status"] == "success"
        assert message["evaluatedTools"]["orders"] == {
            "kind": "model",
            "name": "Paid orders",
            "modelUuid": model["uuid"],
            "isReadOnly": True,
        }
        part = next(p for p in message["parts"] if p["type"] == "tool-orders")
        assert part["state"] == "output-available" and part["output"] == output

    async def test_nothing_outside_the_resource_is_reachable(self, tenant: Tenant, llm: FakeLLM) -> None:
        model = await seeded(tenant)
        await create_model(tenant, "other", columns=[{"slug": "x", "type": "string", "label": "X"}])
        attempts = [
            "SELECT paid FROM orders",  # a column outside the selection
            "SELECT meta FROM orders",
            "SELECT * FROM native.orders",  # the model itself, unfiltered
            "SELECT * FROM native.other",  # another model
            "SELECT * FROM storage_records",
            "SELECT * FROM orders; DELETE FROM orders",
            "DELETE FROM orders",
            "SELECT pg_sleep(5)",
            "SELECT load_extension('x')",
            "SELECT * FROM sqlite_master",
            "SELECT * FROM pg_catalog.pg_tables",
        ]
        llm.script(
            Reply(tool_calls=[ToolCall("orders", {"sql": sql}, id=f"a{i}") for i, sql in enumerate(attempts)]),
            Reply(tool_calls=[ToolCall("orders", {"sql": "SELECT count(*) AS n FROM orders"}, id="count")]),
            Reply(text="Only the paid orders are visible."),
        )
        _, chunks = await stream_turn(tenant.client, stream_body(resources=[resource(model, limit=1)]))
        errors = {c["toolCallId"]: c["errorText"] for c in of_kind(chunks, "tool-output-error")}
        assert set(errors) == {f"a{i}" for i in range(len(attempts))}, errors
        assert all(e.startswith("query refused: ") for e in errors.values())
        (count,) = of_kind(chunks, "tool-output-available")
        assert count["output"] == {"outcome": "executed", "data": {"rows": [{"n": 2}], "truncated": False}}
        message = await message_of(tenant, chunks)
        assert message["status"] == "success" and "Only the paid orders are visible." in str(message["parts"])
        left = await query(tenant, "SELECT count(*) AS n FROM native.orders")
        assert left.json()["rows"] == [{"n": 3}]

    async def test_limit_truncates(self, tenant: Tenant, llm: FakeLLM) -> None:
        model = await seeded(tenant)
        llm.script(
            Reply(tool_calls=[ToolCall("orders", {"sql": "SELECT _id FROM orders ORDER BY _id"}, id="q")]),
            Reply(text="ok"),
        )
        _, chunks = await stream_turn(tenant.client, stream_body(resources=[resource(model, limit=1)]))
        (out,) = of_kind(chunks, "tool-output-available")
        assert out["output"]["data"] == {"rows": [{"_id": "o1"}], "truncated": True}

    async def test_bad_resources_are_refused_before_the_turn(self, tenant: Tenant) -> None:
        model = await seeded(tenant)
        cases = [
            (resource(model, modelUuid="6f1c1f61-8bd5-4b39-9c45-3a1f5bd8d0c1"), "not found"),
            (resource(model, selectedColumnSlugs=["nope"]), "no column `nope`"),
            (resource(model, filter={"conjunction": "and", "groups": []}), "unknown key `conjunction`"),
        ]
        for bad, message in cases:
            response, _ = await stream_turn(tenant.client, stream_body(resources=[bad]))
            assert response.status_code == 400 and message in response.json()["errorMessage"], response.text

    async def test_a_gone_model_is_a_tool_error_part(self, tenant: Tenant, llm: FakeLLM) -> None:
        model = await seeded(tenant)
        agent = await agent_with(tenant, "Analyst", resources=[resource(model)])
        assert (await tenant.client.delete(f"/v1/storage/models/{model['uuid']}")).status_code == 200
        llm.script(Reply(text="Working without it."))
        _, chunks = await stream_turn(tenant.client, stream_body(agentUuid=agent["uuid"]))
        (error,) = of_kind(chunks, "data-tool-error")
        assert error["data"]["name"] == "orders" and "not found" in error["data"]["errorMessage"]
        assert "tools" not in llm.requests[0]
        assert (await message_of(tenant, chunks))["status"] == "success"

    async def test_write_back_stays_inside_the_filter(self, tenant: Tenant, llm: FakeLLM) -> None:
        model = await seeded(tenant)
        writable = resource(model, isReadOnly=False, selectedColumnSlugs=["name", "amount", "paid"])
        llm.script(
            Reply(
                tool_calls=[
                    ToolCall("orders_create", {"data": {"name": "New", "amount": 5, "paid": True}}, id="c1"),
                    ToolCall("orders_create", {"data": {"name": "Unpaid", "amount": 5, "paid": False}}, id="c2"),
                    ToolCall("orders_create", {"data": {"name": "x", "meta": {}}}, id="c3"),
                    ToolCall("orders_update", {"id": "o1", "data": {"amount": 31}}, id="u1"),
                    ToolCall("orders_update", {"id": "o2", "data": {"amount": 0}}, id="u2"),
                    ToolCall("orders_update", {"id": "o3", "data": {"paid": False}}, id="u3"),
                    ToolCall("orders_update", {"id": "o1", "data": {"amount": "lots"}}, id="u4"),
                ]
            ),
            Reply(text="Done."),
        )
        _, chunks = await stream_turn(tenant.client, stream_body(resources=[writable]))
        outputs = {c["toolCallId"]: c["output"] for c in of_kind(chunks, "tool-output-available")}
        errors = {c["toolCallId"]: c["errorText"] for c in of_kind(chunks, "tool-output-error")}
        assert set(outputs) == {"c1", "u1"} and set(errors) == {"c2", "c3", "u2", "u3", "u4"}, (outputs, errors)
        assert "outside this resource's filter" in errors["c2"] and "outside" in errors["u3"]
        assert "`meta` cannot be written" in errors["c3"] and "no record `o2`" in errors["u2"]
        assert "expected a number" in errors["u4"]
        rows = await query(tenant, "SELECT name, amount, paid FROM native.orders ORDER BY name")
        assert rows.json()["rows"] == [
            {"name": "Ada", "amount": 31, "paid": True},
            {"name": "Grace", "amount": 20, "paid": False},
            {"name": "Linus", "amount": 10, "paid": True},
            {"name": "New", "amount": 5, "paid": True},
        ]
        message = await message_of(tenant, chunks)
        assert message["evaluatedTools"]["orders_create"]["isReadOnly"] is False

    async def test_read_only_offers_no_write_tools(self, tenant: Tenant, llm: FakeLLM) -> None:
        model = await seeded(tenant)
        llm.script(Reply(text="ok"))
        await stream_turn(tenant.client, stream_body(resources=[resource(model)]))
        assert [t["function"]["name"] for t in llm.requests[0]["tools"]] == ["orders"]
