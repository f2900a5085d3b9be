"""The filter DSL: a golden table of conditions, each giving the same rows on SQLite and
PostgreSQL (every kind and operator, nulls and empty values included), read through the path a
model resource's tool takes (view narrowed by the filter, guard, read-only run)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from cargohold.datasets.guard import QueryRefused
from cargohold.datasets.query import ResourceTarget, run_resource_query
from cargohold.store import storage as store

from ..conftest import Tenant
from ..harness import Server
from .helpers import create_model, create_records

ROWS = [
    {
        "_id": "r1",
        "name": "Alpha",
        "amount": 10,
        "paid": True,
        "due": "2024-01-01",
        "meta": {"city": "Paris", "zip": 75001, "vip": True},
        "tags": ["a"],
        "extra": 1,
        "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 5}],
    },
    {
        "_id": "r2",
        "name": "beta",
        "amount": 20.5,
        "paid": False,
        "due": "2024-06-15T12:00:00Z",
        "meta": {"city": "Lyon"},
        "tags": [],
        "extra": "x",
        "lines": [{"sku": "A", "qty": 1}],
    },
    {"_id": "r3", "name": "", "amount": 0, "paid": None, "due": None, "meta": None, "tags": None},
    {"_id": "r4", "amount": -5, "paid": True, "due": "2023-12-31T23:59:59Z", "meta": {"city": "paris"}, "tags": ["b"]},
    {
        "_id": "r5",
        "name": "Gamma 100%",
        "paid": False,
        "due": "2025-01-01",
        "meta": {"zip": 69000},
        "extra": {"k": 1},
        "lines": ["loose", {"sku": "C", "qty": 9}],
    },
    {"_id": "r6", "name": "al_pha", "amount": 10, "meta": {"city": "Nice", "vip": False}},
]
ALL = ["r1", "r2", "r3", "r4", "r5", "r6"]


def cond(kind: str, column: str, operator: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "columnSlug": column, "operator": operator, **fields}


def one(condition: dict[str, Any]) -> dict[str, Any]:
    return {"conjonction": "and", "groups": [{"conjonction": "and", "conditions": [condition]}]}


def prop(path: str, kind: str, operator: str, **fields: Any) -> dict[str, Any]:
    return {"kind": "objectProperty", "propertySlug": path, "propertyKind": kind, "operator": operator, **fields}


def match(column: str, conjonction: str, *conditions: dict[str, Any]) -> dict[str, Any]:
    return cond("array", column, "matchConditions", conjonction=conjonction, propertyConditions=list(conditions))


def element(kind: str, operator: str, path: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"propertyKind": kind, "operator": operator, **({"propertySlug": path} if path else {}), **fields}


GOLDEN: list[tuple[dict[str, Any], list[str]]] = [
    # string
    (one(cond("string", "name", "is", values="Alpha")), ["r1"]),
    (one(cond("string", "name", "is", values=["Alpha", "beta"])), ["r1", "r2"]),
    (one(cond("string", "name", "is", values="alpha")), []),
    (one(cond("string", "name", "isNot", values="Alpha")), ["r2", "r3", "r4", "r5", "r6"]),
    (one(cond("string", "name", "isNot", values=["Alpha", ""])), ["r2", "r4", "r5", "r6"]),
    (one(cond("string", "name", "contains", values="ph")), ["r1", "r6"]),
    (one(cond("string", "name", "contains", values="ALP")), ["r1"]),
    (one(cond("string", "name", "contains", values="_")), ["r6"]),
    (one(cond("string", "name", "contains", values="%")), ["r5"]),
    (one(cond("string", "name", "contains", values=["eta", "mm"])), ["r2", "r5"]),
    (one(cond("string", "name", "doesNotContain", values="a")), ["r3", "r4"]),
    (one(cond("string", "name", "doesNotContain", values=["l", "e"])), ["r3", "r4", "r5"]),
    (one(cond("string", "name", "startsWith", values="al")), ["r1", "r6"]),
    (one(cond("string", "name", "endsWith", values="A")), ["r1", "r2", "r6"]),
    (one(cond("string", "name", "endsWith", values=["0%", "zz"])), ["r5"]),
    (one(cond("string", "name", "isNull")), ["r4"]),
    (one(cond("string", "name", "isNotNull")), ["r1", "r2", "r3", "r5", "r6"]),
    (one(cond("string", "name", "isEmpty")), ["r3", "r4"]),
    (one(cond("string", "name", "isNotEmpty")), ["r1", "r2", "r5", "r6"]),
    (one(cond("string", "_id", "is", values="r3")), ["r3"]),
    (one(cond("string", "_title", "startsWith", values="Gam")), ["r5"]),
    # number
    (one(cond("number", "amount", "is", value=10)), ["r1", "r6"]),
    (one(cond("number", "amount", "is", value=20.5)), ["r2"]),
    (one(cond("number", "amount", "isNot", value=10)), ["r2", "r3", "r4", "r5"]),
    (one(cond("number", "amount", "greaterThan", value=0)), ["r1", "r2", "r6"]),
    (one(cond("number", "amount", "lowerThan", value=0)), ["r4"]),
    (one(cond("number", "amount", "between", firstValue=0, lastValue=10)), ["r1", "r3", "r6"]),
    (one(cond("number", "amount", "isNull")), ["r5"]),
    (one(cond("number", "amount", "isNotNull")), ["r1", "r2", "r3", "r4", "r6"]),
    # date
    (one(cond("date", "due", "is", value="2024-01-01")), ["r1"]),
    (one(cond("date", "due", "is", value="2024-01-01T00:00:00+00:00")), ["r1"]),
    (one(cond("date", "due", "isNot", value="2024-01-01")), ["r2", "r3", "r4", "r5", "r6"]),
    (one(cond("date", "due", "greaterThan", value="2024-01-01")), ["r2", "r5"]),
    (one(cond("date", "due", "lowerThan", value="2024-01-01T00:00:00Z")), ["r4"]),
    (one(cond("date", "due", "between", firstValue="2024-01-01", lastValue="2024-12-31")), ["r1", "r2"]),
    (one(cond("date", "due", "isNull")), ["r3", "r6"]),
    (one(cond("date", "due", "isNotNull")), ["r1", "r2", "r4", "r5"]),
    (one(cond("date", "_emitted_at", "greaterThan", value="2000-01-01")), ALL),
    (one(cond("date", "_emitted_at", "lowerThan", value="2000-01-01")), []),
    # boolean
    (one(cond("boolean", "paid", "isTrue")), ["r1", "r4"]),
    (one(cond("boolean", "paid", "isFalse")), ["r2", "r5"]),
    (one(cond("boolean", "paid", "isNull")), ["r3", "r6"]),
    (one(cond("boolean", "paid", "isNotNull")), ["r1", "r2", "r4", "r5"]),
    # object, objectProperty
    (one(cond("object", "meta", "isNull")), ["r3"]),
    (one(cond("object", "meta", "isNotNull")), ["r1", "r2", "r4", "r5", "r6"]),
    (
        one(
            cond(
                "object",
                "meta",
                "matchConditions",
                conjonction="and",
                propertyConditions=[prop("city", "string", "is", values="Paris")],
            )
        ),
        ["r1"],
    ),
    (
        one(
            cond(
                "object",
                "meta",
                "matchConditions",
                conjonction="or",
                propertyConditions=[
                    prop("city", "string", "contains", values="PARIS"),
                    prop("zip", "number", "lowerThan", value=70000),
                ],
            )
        ),
        ["r1", "r4", "r5"],
    ),
    (
        one(
            cond(
                "object",
                "meta",
                "matchConditions",
                conjonction="and",
                propertyConditions=[prop("vip", "boolean", "isFalse")],
            )
        ),
        ["r6"],
    ),
    (one({"columnSlug": "meta", **prop("city", "string", "isNull")}), ["r3", "r5"]),
    (one({"columnSlug": "meta", **prop("zip", "number", "greaterThan", value=70000)}), ["r1"]),
    # array, any
    (one(match("tags", "and", element("string", "is", values="a"))), ["r1"]),
    (one(match("tags", "or", element("string", "is", values="b"), element("string", "is", values="zz"))), ["r4"]),
    (one(match("tags", "and", element("string", "isNotNull"))), ["r1", "r4"]),
    (one(match("lines", "and", element("string", "is", "sku", values="A"))), ["r1", "r2"]),
    (
        one(
            match(
                "lines",
                "and",
                element("string", "is", "sku", values="A"),
                element("number", "greaterThan", "qty", value=1),
            )
        ),
        ["r1"],
    ),
    (
        one(
            match(
                "lines",
                "and",
                element("string", "is", "sku", values="B"),
                element("number", "lowerThan", "qty", value=3),
            )
        ),
        [],
    ),
    (one(match("lines", "and", element("string", "startsWith", values="loo"))), ["r5"]),
    (one(match("lines", "or", element("number", "greaterThan", "qty", value=8))), ["r5"]),
    (one(cond("array", "lines", "isNull")), ["r3", "r4", "r6"]),
    (one(cond("array", "tags", "isNull")), ["r3", "r5", "r6"]),
    (one(cond("array", "tags", "isNotNull")), ["r1", "r2", "r4"]),
    (one(cond("any", "extra", "isNull")), ["r3", "r4", "r6"]),
    (one(cond("any", "extra", "isNotNull")), ["r1", "r2", "r5"]),
    # sql
    (one({"kind": "sql", "name": "big", "clause": "amount > 5 AND name IS NOT NULL"}), ["r1", "r2", "r6"]),
    (one({"kind": "sql", "name": "len", "clause": "length(name) = 5"}), ["r1"]),
    # groups and conjonctions
    ({"conjonction": "and", "groups": []}, ALL),
    (
        {
            "conjonction": "or",
            "groups": [
                {"conjonction": "and", "conditions": [cond("string", "name", "is", values="Alpha")]},
                {"conjonction": "and", "conditions": [cond("number", "amount", "lowerThan", value=0)]},
            ],
        },
        ["r1", "r4"],
    ),
    (
        {
            "conjonction": "and",
            "groups": [
                {
                    "conjonction": "or",
                    "conditions": [cond("boolean", "paid", "isTrue"), cond("boolean", "paid", "isNull")],
                },
                {"conjonction": "and", "conditions": [cond("number", "amount", "greaterThan", value=-1)]},
            ],
        },
        ["r1", "r3", "r6"],
    ),
]

INVALID: list[tuple[dict[str, Any], str]] = [
    ({"conjunction": "and", "groups": []}, "unknown key `conjunction`"),
    ({"conjonction": "and", "groups": [{"conjunction": "and", "conditions": []}]}, "unknown key `conjunction`"),
    (one({**cond("string", "name", "is", values="x"), "valeu": 1}), "unknown key `valeu`"),
    (one({"kind": "segment", "segmentUuid": str(uuid.uuid4()), "operator": "in"}), "not supported"),
    (one({"kind": "occurrence"}), "not supported"),
    (one({"kind": "enrollment"}), "not supported"),
    (one(cond("string", "nope", "is", values="x")), "no column `nope`"),
    (one(cond("number", "name", "is", value=1)), "is of type string, not number"),
    (one(cond("string", "name", "like", values="x")), "unknown operator `like`"),
    (one(cond("number", "amount", "is", value="10")), "must be a number"),
    (one(cond("date", "due", "is", value="soon")), "not an ISO 8601 date"),
    (one({"kind": "sql", "clause": "_id IN (SELECT id FROM storage_records)"}), "may not contain subqueries"),
    (one({"kind": "sql", "clause": "pg_sleep(1) IS NULL"}), "`pg_sleep` is not allowed"),
    (one({"kind": "sql", "clause": "workspace_uuid IS NOT NULL"}), "not a column of this model"),
    ({"conjonction": "xor", "groups": []}, "`conjonction` must be"),
]


@pytest.fixture
async def target(server: Server, tenant: Tenant) -> ResourceTarget:
    model = await create_model(tenant, "golden")
    await create_records(tenant, model, ROWS)
    async with server.state.reads() as session:
        row = await store.get_model(session, tenant.workspace_uuid, uuid.UUID(model["uuid"]))
        assert row is not None
        dataset = await store.get_dataset(session, tenant.workspace_uuid, row.dataset_uuid)
        assert dataset is not None
    return ResourceTarget("golden", row, dataset, None, None)


async def ids(server: Server, target: ResourceTarget, filter: dict[str, Any]) -> list[str]:
    narrowed = ResourceTarget(target.slug, target.model, target.dataset, filter, ["name"])
    async with server.state.reads() as session:
        result = await run_resource_query(
            session, narrowed, "SELECT _id FROM golden ORDER BY _id", cap=100, timeout_seconds=5
        )
    return [r["_id"] for r in result.rows]


async def test_golden_table(server: Server, target: ResourceTarget) -> None:
    failures = []
    for filter, expected in GOLDEN:
        got = await ids(server, target, filter)
        if got != expected:
            failures.append((filter, expected, got))
    assert not failures, "\n".join(f"{f}\n  expected {e}\n  got      {g}" for f, e, g in failures)


async def test_invalid_filters_say_why(server: Server, target: ResourceTarget) -> None:
    for filter, message in INVALID:
        with pytest.raises(QueryRefused) as caught:
            await ids(server, target, filter)
        assert message in str(caught.value), (filter, str(caught.value))
