"""engine/ and library/ never import Qt: they run in scripts, render nodes and tests."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ganstyle_desktop"
QT_ROOTS = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "pytestqt"}
# engine <- library <- ui <- entry points: a lower layer never imports a higher one.
FORBIDDEN = {
    "engine": QT_ROOTS | {"ganstyle_desktop.library", "ganstyle_desktop.ui"},
    "library": QT_ROOTS | {"ganstyle_desktop.ui"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the package path
                parts = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                base = ".".join(parts)
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_go_one_way(layer: str) -> None:
    offenders = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for name in _imports(path):
            if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN[layer]):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_ui_does_no_tensor_math() -> None:
    offenders = []
    for path in sorted((PACKAGE / "ui").rglob("*.py")):
        for name in _imports(path):
            if name == "torch" or name.startswith("torch."):
                offenders.append(f"{path.relative_to(PACKAGE)} imports {name}")
    assert not offenders, "\n".join(offenders)
