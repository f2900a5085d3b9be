"""The layer contracts of src/cargohold, checked on every import (TYPE_CHECKING ones too).

    api/      imports no db/ table module (rows reach it typed by the services' results)
    services/ never imports jobs/ (jobs implement the ports services declare)
    runtime/  never imports stream/, api/, services/ or jobs/ (one turn, no wire, no HTTP)
    stream/   never imports api/, services/ or jobs/

Run: `uv run python scripts/check_layers.py` (exit 1 and one line per violation).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "src" / "cargohold"
RULES: dict[str, tuple[str, ...]] = {
    "api": ("cargohold.db.tables",),
    "services": ("cargohold.jobs",),
    "runtime": ("cargohold.stream", "cargohold.api", "cargohold.services", "cargohold.jobs"),
    "stream": ("cargohold.api", "cargohold.services", "cargohold.jobs"),
}


def _module_name(path: Path) -> str:
    parts = ["cargohold", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names)
    return found


def violations() -> list[str]:
    out: dict[tuple[Path, int], str] = {}
    for path in sorted(ROOT.rglob("*.py")):
        layer = path.relative_to(ROOT).parts[0]
        banned = RULES.get(layer)
        if not banned:
            continue
        for line, name in _imports(path):
            for prefix in banned:
                if (name == prefix or name.startswith(prefix + ".")) and (path, line) not in out:
                    out[path, line] = f"{path.relative_to(ROOT.parent.parent)}:{line}: {layer}/ imports {name}"
    return list(out.values())


if __name__ == "__main__":
    found = violations()
    for line in found:
        print(line)
    sys.exit(1 if found else 0)
