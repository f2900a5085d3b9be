"""The team's data: datasets (the workspace's `native` one, stored here, and `connector` ones, external
SQL databases only ever read), their data models, the records of native models, the filter DSL and
the SQL guard every model-written or user-written query goes through.

- `columns.py`: column types and the check of a record's values against them.
- `views.py`: a model as a typed table (Core `Select`), narrowed by a filter and a column selection.
- `filters.py`: Cargo's filter DSL compiled to bound Core expressions.
- `guard.py`: one read-only SELECT over the allowed tables only (sqlglot), rewritten onto the views.
- `runner.py`: runs a guarded query read-only, with a statement timeout and a row cap.
- `connectors.py`: engines of connector datasets (read only), reading columns of tables and queries.
- `service.py`: the use cases of the /v1/storage routes.
"""
