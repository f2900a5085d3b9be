"""The layer contracts of src/cargohold hold (scripts/check_layers.py), and there are no import
cycles (../shared/tools/import_cycles.py, when present)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_layer_contracts_hold() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_layers.py")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import check_layers
    finally:
        sys.path.pop(0)
    fake = tmp_path / "cargohold"
    (fake / "runtime").mkdir(parents=True)
    (fake / "runtime" / "x.py").write_text("from ..stream.publisher import StreamPublisher\n")
    (fake / "services").mkdir()
    (fake / "services" / "y.py").write_text("from ..jobs import runs\n")
    old = check_layers.ROOT
    check_layers.ROOT = fake
    try:
        found = check_layers.violations()
    finally:
        check_layers.ROOT = old
    assert any("runtime/ imports cargohold.stream.publisher" in line for line in found)
    assert any("services/ imports cargohold.jobs" in line for line in found)


def test_no_import_cycles() -> None:
    tool = ROOT.parent / "shared" / "tools" / "import_cycles.py"
    if not tool.exists():
        pytest.skip(f"{tool} is not on this machine")
    result = subprocess.run([sys.executable, str(tool), "src", "cargohold"], capture_output=True, text=True, cwd=ROOT)
    assert " 0 import cycles" in f" {result.stdout}", result.stdout
