"""Durable turns on Temporal: the executor API instances use (`executor.py`), the workflow of a
turn (`workflows.py`), its activities (`activities.py`, run by `cargohold worker`: `worker.py`),
and the step journal that lets a worker take over a turn whose worker died (`journal.py`,
`durable.py`)."""
