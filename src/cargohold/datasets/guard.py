"""The SQL guard: a query is parsed with a real SQL parser (sqlglot) and run only if it is one
read-only SELECT over the tables it may read, with allow-listed functions only.

`guard_query(sql, dialect, resolve)` returns the query rewritten: every table it names is replaced
by the name of a view (`resolve` says which; `None` refuses the table), so the query that reaches
the database reads those views and nothing else. Refused, with the reason in the message:
writes and DDL (also inside CTEs), several statements, `SELECT INTO`, `FOR UPDATE`, placeholders,
tables that `resolve` does not know (other workspaces' models, catalogs, system tables), CTEs
nested below the top level or recursive (a CTE shadowing a real table's name must not reach it),
and any function outside `ALLOWED_FUNCTIONS` (`pg_sleep`, `load_extension`, `pg_read_file`, ...).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

__all__ = ["ALLOWED_FUNCTIONS", "KEEP", "QueryRefused", "check_clause", "guard_query"]

GLOT_DIALECT = {"postgresql": "postgres", "sqlite": "sqlite"}

ALLOWED_FUNCTIONS = frozenset(
    {
        # aggregates
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "stddev",
        "stddevpop",
        "stddevsamp",
        "variance",
        "variancepop",
        "groupconcat",
        "arrayagg",
        "logicaland",
        "logicalor",
        "percentilecont",
        "percentiledisc",
        "total",
        "countif",
        "approxdistinct",
        # window functions
        "rownumber",
        "rank",
        "denserank",
        "ntile",
        "lag",
        "lead",
        "firstvalue",
        "lastvalue",
        "nthvalue",
        "percentrank",
        "cumedist",
        # scalars
        "abs",
        "round",
        "floor",
        "ceil",
        "sqrt",
        "pow",
        "ln",
        "log",
        "exp",
        "sign",
        "mod",
        "div",
        "coalesce",
        "nullif",
        "greatest",
        "least",
        "case",
        "if",
        "cast",
        "trycast",
        "exists",
        "lower",
        "upper",
        "length",
        "trim",
        "substring",
        "replace",
        "concat",
        "concatws",
        "left",
        "right",
        "strposition",
        "splitpart",
        "pad",
        "initcap",
        "reverse",
        "repeat",
        "ifnull",
        "typeof",
        "printf",
        "currentdate",
        "currenttimestamp",
        "date",
        "datetime",
        "extract",
        "timestamptrunc",
        "datetrunc",
        "timetostr",
        "strtotime",
        "tsordstotimestamp",
        "tsordstodate",
        "julianday",
        "strftime",
        "todays",
        "datediff",
        "dateadd",
        "datesub",
        "age",
        "makeinterval",
        "interval",
        "jsonextract",
        "jsonextractscalar",
        "jsonbextract",
        "jsonbextractscalar",
        "jsonarraylength",
        "tochar",
        "tonumber",
        "array",
        "regexplike",
        "unnest",
        "struct",
    }
)

_FORBIDDEN = tuple(
    getattr(exp, name)
    for name in (
        "Insert",
        "Update",
        "Delete",
        "Merge",
        "Create",
        "Drop",
        "Alter",
        "Command",
        "Set",
        "Pragma",
        "Transaction",
        "Commit",
        "Rollback",
        "Copy",
        "Use",
        "TruncateTable",
        "LoadData",
        "Describe",
        "Attach",
        "Detach",
        "Kill",
        "Analyze",
        "Grant",
        "Into",
        "Lock",
        "Placeholder",
        "Parameter",
        "SessionParameter",
    )
    if hasattr(exp, name)
)

KEEP = ""
"""What `resolve` returns to keep a table as it is written (a connector's own table in the stored
query of an `sql` model)."""

Resolve = Callable[[str | None, str], str | None]
"""(schema or None, table) -> the view name to read instead, or None to refuse the table."""


class QueryRefused(ValueError):
    """A query the guard does not run; the message says why."""


def _parse(sql: str, dialect: str) -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(sql, read=GLOT_DIALECT[dialect]) if s is not None]
    except SqlglotError as exc:
        raise QueryRefused(f"the query is not valid SQL: {str(exc).splitlines()[0]}") from None
    if not statements:
        raise QueryRefused("the query is empty")
    if len(statements) > 1:
        raise QueryRefused("only one statement is allowed (no `;` chains)")
    return statements[0]  # type: ignore[return-value]


def _check_nodes(root: exp.Expression) -> None:
    for node in root.walk():
        if isinstance(node, _FORBIDDEN):
            raise QueryRefused(f"only a read-only SELECT is allowed (found {node.key.upper()})")
        if isinstance(node, exp.Func) and not isinstance(node, exp.Connector):
            name = node.name.lower() if isinstance(node, exp.Anonymous) else node.key
            if name not in ALLOWED_FUNCTIONS:
                shown = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
                raise QueryRefused(f"the function `{shown}` is not allowed")


def guard_query(sql: str, dialect: str, resolve: Resolve) -> str:
    """The query, checked and rewritten onto the views (SQL text of `dialect`), or `QueryRefused`."""
    root = _parse(sql, dialect)
    if not isinstance(root, exp.Select | exp.SetOperation):
        raise QueryRefused(f"only a read-only SELECT is allowed (found {root.key.upper()})")
    _check_nodes(root)
    with_ = root.args.get("with_") or root.args.get("with")
    ctes: list[exp.CTE] = list(with_.expressions) if with_ is not None else []
    if with_ is not None and with_.args.get("recursive"):
        raise QueryRefused("recursive CTEs are not allowed")
    for node in root.find_all(exp.With):
        if node is not with_:
            raise QueryRefused("WITH is allowed only at the top of the query")
    names = [cte.alias_or_name.lower() for cte in ctes]
    seen: set[int] = set()
    for i, cte in enumerate(ctes):
        for table in list(cte.find_all(exp.Table)):
            seen.add(id(table))
            _rewrite(table, set(names[:i]), resolve)
    for table in list(root.find_all(exp.Table)):
        if id(table) not in seen:
            _rewrite(table, set(names), resolve)
    for column in root.find_all(exp.Column):
        if column.args.get("catalog") is not None:
            raise QueryRefused(f"`{column.sql()}`: name columns as `table.column`")
        if column.args.get("db") is not None:
            column.set("db", None)
    return root.sql(dialect=GLOT_DIALECT[dialect])


def _rewrite(table: exp.Table, ctes: set[str], resolve: Resolve) -> None:
    if not isinstance(table.this, exp.Identifier):
        raise QueryRefused(f"`{table.sql()}` is not a table this query may read")
    if table.args.get("catalog") is not None:
        raise QueryRefused(f"`{table.sql()}`: catalogs are not allowed; name a model as `dataset.model`")
    schema = table.args.get("db")
    schema_name = schema.name if schema is not None else None
    name = table.name
    if schema_name is None and name.lower() in ctes:
        return
    view = resolve(schema_name, name)
    if view == KEEP:
        return
    if view is None:
        shown = f"{schema_name}.{name}" if schema_name else name
        raise QueryRefused(f"the table `{shown}` is not a model this query may read")
    alias = table.alias or name
    table.set("db", None)
    table.set("this", exp.to_identifier(view, quoted=True))
    table.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))


def check_clause(clause: str, dialect: str, columns: set[str]) -> str:
    """A filter's `sql` condition: one boolean expression over the model's own columns, without
    subqueries, with allow-listed functions only. Returns it as SQL text of `dialect`."""
    try:
        node = sqlglot.parse_one(clause, read=GLOT_DIALECT[dialect], into=exp.Condition)
    except (SqlglotError, ValueError) as exc:
        raise QueryRefused(f"the clause is not a valid SQL expression: {str(exc).splitlines()[0]}") from None
    _check_nodes(node)  # type: ignore[arg-type]
    for sub in node.walk():
        if isinstance(sub, exp.Select | exp.Subquery | exp.Table | exp.Star):
            raise QueryRefused("the clause may not contain subqueries or tables")
        if isinstance(sub, exp.Column) and (sub.table or sub.name not in columns):
            raise QueryRefused(f"the clause names `{sub.sql()}`, which is not a column of this model")
    return node.sql(dialect=GLOT_DIALECT[dialect])
