"""Built-in tools: small, safe, and useful to show a real multi-step turn with no setup."""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic_ai import Tool

__all__ = ["BUILTIN_TOOLS", "calculate", "current_time"]

_MAX_EXPRESSION = 500
_MAX_EXPONENT = 1000
_MAX_BITS = 4000
"""Every intermediate integer is at most this many bits (about 1,200 digits): checked before a
power is computed, so no expression can keep a CPU busy (`((9**999)**999)**10`)."""
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}


def current_time() -> dict[str, str]:
    """The current date and time in UTC (ISO 8601)."""
    return {"utc": datetime.now(UTC).isoformat()}


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            if abs(right) > _MAX_EXPONENT:
                raise ValueError(f"exponent {right} is too large (at most {_MAX_EXPONENT})")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and max(abs(left).bit_length(), 1) * right > _MAX_BITS + right
            ):
                raise ValueError(f"the result would be too large (more than {_MAX_BITS} bits)")
        try:
            result = _BINARY[type(node.op)](left, right)
        except OverflowError as exc:
            raise ValueError("the result is too large") from exc
        if isinstance(result, int) and result.bit_length() > _MAX_BITS:
            raise ValueError(f"the result is too large (more than {_MAX_BITS} bits)")
        if isinstance(result, complex):
            raise ValueError("the result is not a real number")
        if isinstance(result, float) and not math.isfinite(result):
            raise ValueError("the result is too large")
        return result
    raise ValueError(f"refused {type(node).__name__}: only numbers, + - * / // % ** and parentheses")


def calculate(expression: str) -> dict[str, Any]:
    """Evaluate an arithmetic expression: numbers, + - * / // % ** and parentheses."""
    if len(expression) > _MAX_EXPRESSION:
        raise ValueError(f"expression too long (at most {_MAX_EXPRESSION} characters)")
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from exc
    try:
        result = _evaluate(tree)
    except ZeroDivisionError as exc:
        raise ValueError("division by zero") from exc
    if isinstance(result, float) and result.is_integer() and abs(result) < 2**53:
        result = int(result)
    return {"expression": expression, "result": result}


BUILTIN_TOOLS: dict[str, Tool] = {
    "current_time": Tool(current_time, name="current_time"),
    "calculate": Tool(calculate, name="calculate"),
}
