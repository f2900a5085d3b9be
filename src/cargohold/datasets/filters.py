"""Cargo's filter DSL compiled to bound SQLAlchemy Core expressions (cargo-ai-api §2.4).

`{conjonction: and|or, groups: [{conjonction, conditions: [...]}]}` (the key is spelled
`conjonction`, as in Cargo's API). Every key is checked: an unknown one (`conjunction`) is a
`FilterInvalid`, never a silent empty result. Values are bound parameters; column slugs name the
columns of the model's view. The same filter gives the same rows on SQLite and PostgreSQL:
`contains`/`startsWith`/`endsWith` compare lower-cased on both (SQLite's LIKE ignores ASCII case,
PostgreSQL's does not), `isNot`/`doesNotContain` keep null values, `between` is inclusive, dates
are compared in their canonical text form (`columns.canonical_date`).

An array's `matchConditions` holds when one element matches its `propertyConditions` (each reads
a property of an object element, or the element itself without `propertySlug`). Object
properties (`objectProperty`, and `matchConditions` of an object column) read a path of the
object: `{kind: "objectProperty", columnSlug, propertySlug: "a.b", propertyKind: string | number |
boolean | date, operator, ...}`; in `propertyConditions` the `columnSlug` is that of the object
column and may be left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .columns import RecordInvalid, canonical_date

__all__ = ["ColumnRef", "FilterInvalid", "compile_filter"]

SqlClause = Callable[[str], sa.ColumnElement[bool]]


class FilterInvalid(ValueError):
    """A filter that cannot be compiled; the message names the condition and the key."""


@dataclass(frozen=True)
class ColumnRef:
    kind: str
    value: sa.ColumnElement[Any]
    text: sa.ColumnElement[Any]
    """The value as text (for null checks and string operators)."""
    is_datetime: bool = False
    """A real timestamp column (`_emitted_at`): compared with datetimes, not canonical text."""


UNSUPPORTED = {"segment", "occurrence", "enrollment"}
STRING_OPS = {"is", "isNot", "contains", "doesNotContain", "startsWith", "endsWith"}
NULL_OPS = {"isNull", "isNotNull"}
RANGE_OPS = {"is", "isNot", "greaterThan", "lowerThan", "between"}
COMMON_KEYS = {"kind", "columnSlug", "operator", "relatedModelUuid"}


def _keys(where: str, given: dict[str, Any], allowed: set[str]) -> None:
    if not isinstance(given, dict):
        raise FilterInvalid(f"{where}: expected an object")
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise FilterInvalid(f"{where}: unknown key `{unknown[0]}` (allowed: {', '.join(sorted(allowed))})")


def _join(conjonction: Any, where: str, parts: list[sa.ColumnElement[bool]]) -> sa.ColumnElement[bool]:
    if conjonction not in ("and", "or"):
        raise FilterInvalid(f'{where}: `conjonction` must be "and" or "or"')
    if not parts:
        return sa.true()
    return sa.and_(*parts) if conjonction == "and" else sa.or_(*parts)


class _Compiler:
    def __init__(self, columns: dict[str, ColumnRef], dialect: str, sql_clause: SqlClause | None) -> None:
        self.columns = columns
        self.dialect = dialect
        self.sql_clause = sql_clause

    def filter(self, raw: Any) -> sa.ColumnElement[bool]:
        _keys("filter", raw, {"conjonction", "groups"})
        groups = raw.get("groups") or []
        if not isinstance(groups, list):
            raise FilterInvalid("filter: `groups` must be a list")
        parts = [self.group(f"filter.groups[{i}]", g) for i, g in enumerate(groups)]
        return _join(raw.get("conjonction", "and"), "filter", parts)

    def group(self, where: str, raw: Any) -> sa.ColumnElement[bool]:
        _keys(where, raw, {"conjonction", "conditions"})
        conditions = raw.get("conditions") or []
        if not isinstance(conditions, list):
            raise FilterInvalid(f"{where}: `conditions` must be a list")
        parts = [self.condition(f"{where}.conditions[{i}]", c) for i, c in enumerate(conditions)]
        return _join(raw.get("conjonction", "and"), where, parts)

    def condition(self, where: str, raw: Any) -> sa.ColumnElement[bool]:
        if not isinstance(raw, dict):
            raise FilterInvalid(f"{where}: expected an object")
        kind = raw.get("kind")
        if kind in UNSUPPORTED:
            raise FilterInvalid(f"{where}: `{kind}` conditions are not supported by this cargohold version")
        if kind == "sql":
            _keys(where, raw, {"kind", "name", "clause"})
            if self.sql_clause is None or not isinstance(raw.get("clause"), str):
                raise FilterInvalid(f"{where}: an `sql` condition needs a `clause` (a SQL boolean expression)")
            return self.sql_clause(raw["clause"])
        if raw.get("relatedModelUuid"):
            raise FilterInvalid(f"{where}: `relatedModelUuid` is not supported by this cargohold version")
        slug = raw.get("columnSlug")
        ref = self.columns.get(slug) if isinstance(slug, str) else None
        if ref is None:
            raise FilterInvalid(f"{where}: no column `{slug}` in this model")
        op = raw.get("operator")
        match kind:
            case "string" | "number" | "date" | "boolean":
                if ref.kind not in (kind, "any"):
                    raise FilterInvalid(f"{where}: column `{slug}` is of type {ref.kind}, not {kind}")
                return self.scalar(where, kind, ref.value, ref.text, raw, set(), ref.is_datetime)
            case "object" | "array":
                if ref.kind not in (kind, "any"):
                    raise FilterInvalid(f"{where}: column `{slug}` is of type {ref.kind}, not {kind}")
                if op == "matchConditions" and kind == "array":
                    return self.elements(where, ref, raw)
                if op == "matchConditions":
                    _keys(where, raw, COMMON_KEYS | {"conjonction", "propertyConditions"})
                    props = raw.get("propertyConditions") or []
                    if not isinstance(props, list):
                        raise FilterInvalid(f"{where}: `propertyConditions` must be a list")
                    parts = [
                        self.property(f"{where}.propertyConditions[{i}]", ref, p, str(slug))
                        for i, p in enumerate(props)
                    ]
                    return _join(raw.get("conjonction", "and"), where, parts)
                _keys(where, raw, COMMON_KEYS)
                return self.nulls(where, ref.text, op)
            case "objectProperty":
                if ref.kind not in ("object", "any"):
                    raise FilterInvalid(f"{where}: column `{slug}` is of type {ref.kind}, not object")
                return self.property(where, ref, raw, str(slug))
            case "any" | "vector":
                _keys(where, raw, COMMON_KEYS)
                return self.nulls(where, ref.text, op)
            case _:
                raise FilterInvalid(f"{where}: unknown condition kind `{kind}`")

    def nulls(self, where: str, text: sa.ColumnElement[Any], op: Any) -> sa.ColumnElement[bool]:
        if op == "isNull":
            return text.is_(None)
        if op == "isNotNull":
            return text.is_not(None)
        raise FilterInvalid(f"{where}: unknown operator `{op}` (allowed: isNull, isNotNull)")

    def elements(self, where: str, ref: ColumnRef, raw: Any) -> sa.ColumnElement[bool]:
        """An array matches when one of its elements matches the property conditions (a property of
        an object element, or the element itself when `propertySlug` is left out)."""
        _keys(where, raw, COMMON_KEYS | {"conjonction", "propertyConditions"})
        props = raw.get("propertyConditions") or []
        if not isinstance(props, list):
            raise FilterInvalid(f"{where}: `propertyConditions` must be a list")
        if self.dialect == "postgresql":
            doc = sa.type_coerce(ref.value, postgresql.JSONB)
            each: Any = sa.func.jsonb_array_elements(doc).table_valued("value").alias("e")
        else:
            each = sa.func.json_each(ref.value).table_valued("value", "type").alias("e")
        parts = [self.element(f"{where}.propertyConditions[{i}]", each, p) for i, p in enumerate(props)]
        matched = _join(raw.get("conjonction", "and"), where, parts)
        return sa.exists(sa.select(sa.literal(1)).select_from(each).where(matched))

    def element(self, where: str, each: Any, raw: Any) -> sa.ColumnElement[bool]:
        _keys(where, raw, COMMON_KEYS | {"propertySlug", "propertyKind", "value", "values", "firstValue", "lastValue"})
        path = raw.get("propertySlug") or ""
        keys = path.split(".") if path else []
        if not all(k.isidentifier() for k in keys):
            raise FilterInvalid(f"{where}: `propertySlug` must be a dotted path of names (`address.city`)")
        kind = raw.get("propertyKind", "string")
        if kind not in ("string", "number", "date", "boolean"):
            raise FilterInvalid(f"{where}: `propertyKind` must be string, number, date or boolean")
        if self.dialect == "postgresql":
            doc = sa.type_coerce(each.c.value, postgresql.JSONB)
            text: sa.ColumnElement[Any] = doc.op("#>>")(sa.literal("{" + ",".join(keys) + "}", sa.Text))
            value: sa.ColumnElement[Any] = {
                "number": sa.cast(text, sa.Numeric),
                "boolean": sa.cast(text, sa.Boolean),
            }.get(kind, text)
        elif keys:
            path_literal = sa.literal("$." + ".".join(f'"{k}"' for k in keys))
            value = text = sa.case((each.c.type == "object", sa.func.json_extract(each.c.value, path_literal)))
        else:
            value = text = sa.case((each.c.type.not_in(["object", "array"]), each.c.value))
        return self.scalar(where, kind, value, text, raw, {"propertySlug", "propertyKind"})

    def property(self, where: str, ref: ColumnRef, raw: Any, slug: str) -> sa.ColumnElement[bool]:
        _keys(where, raw, COMMON_KEYS | {"propertySlug", "propertyKind", "value", "values", "firstValue", "lastValue"})
        if raw.get("columnSlug") not in (None, slug):
            raise FilterInvalid(f"{where}: a property condition reads the column `{slug}`")
        path = raw.get("propertySlug")
        if not isinstance(path, str) or not all(p.isidentifier() for p in path.split(".")):
            raise FilterInvalid(f"{where}: `propertySlug` must be a dotted path of names (`address.city`)")
        kind = raw.get("propertyKind", "string")
        if kind not in ("string", "number", "date", "boolean"):
            raise FilterInvalid(f"{where}: `propertyKind` must be string, number, date or boolean")
        keys = path.split(".")
        if self.dialect == "postgresql":
            doc = sa.type_coerce(ref.value, postgresql.JSONB)
            text: sa.ColumnElement[Any] = doc.op("#>>")(sa.literal("{" + ",".join(keys) + "}", sa.Text))
            value: sa.ColumnElement[Any] = {
                "number": sa.cast(text, sa.Numeric),
                "boolean": sa.cast(text, sa.Boolean),
            }.get(kind, text)
        else:
            value = text = sa.func.json_extract(ref.value, sa.literal("$." + ".".join(f'"{k}"' for k in keys)))
        return self.scalar(where, kind, value, text, raw, {"propertySlug", "propertyKind"})

    def scalar(
        self,
        where: str,
        kind: str,
        value: sa.ColumnElement[Any],
        text: sa.ColumnElement[Any],
        raw: Any,
        extra: set[str],
        is_datetime: bool = False,
    ) -> sa.ColumnElement[bool]:
        op = raw.get("operator")
        if op in NULL_OPS:
            _keys(where, raw, COMMON_KEYS | extra)
            return self.nulls(where, text, op)
        match kind:
            case "string":
                return self.string(where, text, raw, extra)
            case "boolean":
                _keys(where, raw, COMMON_KEYS | extra)
                if op == "isTrue":
                    return value == sa.true()
                if op == "isFalse":
                    return value == sa.false()
                raise FilterInvalid(f"{where}: unknown operator `{op}` (allowed: isTrue, isFalse, isNull, isNotNull)")
            case _:
                return self.range(where, kind, value, raw, extra, is_datetime)

    def string(self, where: str, text: sa.ColumnElement[Any], raw: Any, extra: set[str]) -> sa.ColumnElement[bool]:
        op = raw.get("operator")
        if op in ("isEmpty", "isNotEmpty"):
            _keys(where, raw, COMMON_KEYS | extra)
            return sa.or_(text.is_(None), text == "") if op == "isEmpty" else sa.and_(text.is_not(None), text != "")
        if op not in STRING_OPS:
            raise FilterInvalid(f"{where}: unknown operator `{op}` for a string")
        _keys(where, raw, COMMON_KEYS | extra | {"value", "values"})
        given = raw.get("values", raw.get("value"))
        values = given if isinstance(given, list) else [given]
        if not values or not all(isinstance(v, str) for v in values):
            raise FilterInvalid(f"{where}: `{op}` needs `values`: a string or a list of strings")
        lowered = sa.func.lower(text)
        match op:
            case "is":
                return text.in_(values)
            case "isNot":
                return sa.or_(text.is_(None), text.not_in(values))
            case "contains":
                return sa.or_(*(lowered.contains(v.lower(), autoescape=True) for v in values))
            case "doesNotContain":
                return sa.or_(text.is_(None), sa.and_(*(~lowered.contains(v.lower(), autoescape=True) for v in values)))
            case "startsWith":
                return sa.or_(*(lowered.startswith(v.lower(), autoescape=True) for v in values))
            case _:
                return sa.or_(*(lowered.endswith(v.lower(), autoescape=True) for v in values))

    def range(
        self, where: str, kind: str, value: sa.ColumnElement[Any], raw: Any, extra: set[str], is_datetime: bool
    ) -> sa.ColumnElement[bool]:
        op = raw.get("operator")
        if op not in RANGE_OPS:
            raise FilterInvalid(f"{where}: unknown operator `{op}` for a {kind}")

        def bound(key: str) -> Any:
            given = raw.get(key)
            if kind == "number":
                if isinstance(given, bool) or not isinstance(given, int | float):
                    raise FilterInvalid(f"{where}: `{key}` must be a number")
                return given
            try:
                text = canonical_date(given)
                return datetime.fromisoformat(text.replace("Z", "+00:00")) if is_datetime else text
            except RecordInvalid as exc:
                raise FilterInvalid(f"{where}: `{key}`: {exc}") from None

        if op == "between":
            _keys(where, raw, COMMON_KEYS | extra | {"firstValue", "lastValue"})
            return value.between(bound("firstValue"), bound("lastValue"))
        _keys(where, raw, COMMON_KEYS | extra | {"value"})
        limit = bound("value")
        match op:
            case "is":
                return value == limit
            case "isNot":
                return sa.or_(value.is_(None), value != limit)
            case "greaterThan":
                return value > limit
            case _:
                return value < limit


def compile_filter(
    raw: Any, columns: dict[str, ColumnRef], dialect: str, sql_clause: SqlClause | None = None
) -> sa.ColumnElement[bool]:
    """The filter as one boolean Core expression over `columns`; `FilterInvalid` says what is wrong."""
    return _Compiler(columns, dialect, sql_clause).filter(raw)
