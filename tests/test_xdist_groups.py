"""Under xdist, a module whose servers are module-scoped fixtures runs whole on one worker only if
it is listed in `ONE_WORKER_MODULES` (tests/conftest.py): otherwise its tests are spread over the
workers, and its servers start on each, and again each time the module's tests resume."""

from __future__ import annotations

import pytest

from .conftest import ONE_WORKER_MODULES, has_module_fixture, module_of


def test_every_module_with_module_scoped_fixtures_runs_on_one_worker(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    if not any(module_of(item.nodeid).startswith(ONE_WORKER_MODULES) for item in items):
        pytest.skip("checks the modules collected with it: run with the suite (or tests/)")
    grouped = {module_of(item.nodeid) for item in items if has_module_fixture(item)}
    assert grouped, "no module-scoped fixture found: the check itself is broken"
    missing = sorted(m for m in grouped if not m.startswith(ONE_WORKER_MODULES))
    assert not missing, f"add to ONE_WORKER_MODULES in tests/conftest.py: {missing}"
