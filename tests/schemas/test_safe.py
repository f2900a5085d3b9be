"""The value checks of schemas/safe.py, as properties: unit tests, since the shortcut they check
(`suspects` on the raw body) is invisible through HTTP unless it is wrong on some input."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cargohold.schemas.safe import TOO_DEEP, find_problem, format_path, readable, suspects

text = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
numbers = st.one_of(st.integers(), st.floats(), st.sampled_from([2**63, -(2**63), 10**19, float("inf")]))
values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, text),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


def kind(problem: Any) -> str | None:
    return None if problem is None else problem.kind


class TestSuspects:
    @settings(max_examples=300, deadline=None)
    @given(value=values, ascii_only=st.booleans())
    def test_never_misses_what_the_full_check_finds(self, value: Any, ascii_only: bool) -> None:
        try:
            body = json.dumps(value, ensure_ascii=ascii_only).encode()
        except UnicodeEncodeError:
            return  # a lone surrogate unescaped is not UTF-8: no client can send it
        strings, numbers = suspects(body)
        parsed = json.loads(body)
        full = find_problem(parsed, 64)
        quick = find_problem(parsed, 64, strings=strings, numbers=numbers)
        assert (full is None) == (quick is None), (full, quick)


class TestFindProblem:
    def test_paths_name_the_field(self) -> None:
        body = {"parts": [{"type": "text", "text": "ok"}, {"type": "text", "text": "a\x00"}]}
        assert find_problem(body, 64).message.startswith("`parts[1].text`: holds a NUL")  # type: ignore[union-attr]
        problem = find_problem({"data": {"a\nb": {"\ud800": 1}}}, 64)
        assert problem is not None and problem.path == 'data."a\\nb"' and problem.kind == "key"

    def test_depth_counts_containers(self) -> None:
        assert find_problem([[[1]]], 3) is None
        problem = find_problem({"a": [[1]]}, 2)
        assert problem is not None and problem.kind == "depth" and problem.path == "a[0]"

    def test_long_paths_are_cut(self) -> None:
        assert len(format_path(["segment"] * 100)) <= 201


class TestReadable:
    def test_unchanged_when_readable(self) -> None:
        value = {"a": [1, "b", {"c": None}]}
        assert readable(value) is value

    def test_repairs(self) -> None:
        deep: Any = 1
        for _ in range(150):
            deep = [deep]
        fixed = readable({"s\ud800": "x\udfff", "d": deep, "n": float("nan")})
        assert fixed["s\ufffd"] == "x\ufffd" and fixed["n"] is None
        assert TOO_DEEP in json.dumps(fixed["d"])
