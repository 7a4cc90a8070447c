"""Imports go one way: engine <- library <- ui <- entry points (app.py, cli/).

An AST check of every module, run in the default test command. It resolves every form an
import can take, so none slips past: ``import a.b``, ``from a import b`` (``b`` may be a
module: ``from ganstyle_desktop import ui``), relative imports at any depth (``from ..
import ui``, ``from ..ui import jobs``), imports inside functions or ``if TYPE_CHECKING``,
and ``importlib.import_module("...")`` / ``__import__("...")`` with a literal name.

Contracts:

- ``engine/`` imports no Qt and nothing of ``library``, ``ui``, ``cli`` or ``app``;
- ``library/`` imports no Qt and nothing of ``ui``, ``cli`` or ``app``;
- ``ui/`` imports nothing of ``cli`` or ``app``, and no torch (no tensor math);
- inside ``ui/``, only ``ui/jobs`` calls the engine and the library: other UI modules may
  import only the plain values listed in ``UI_VALUES`` (a Blend, a TrainConfig, a catalog
  record, ...), by name: never a module of theirs.

``test_the_checker_catches_every_import_form`` feeds each form to the checker and expects
it to be reported, so the contract itself cannot silently stop working.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ganstyle_desktop"
ROOT = "ganstyle_desktop"
QT_ROOTS = {"PySide6", "PyQt5", "PyQt6", "shiboken6", "pytestqt"}
ENTRY_POINTS = {f"{ROOT}.cli", f"{ROOT}.app"}

FORBIDDEN = {
    "engine": QT_ROOTS | {f"{ROOT}.library", f"{ROOT}.ui"} | ENTRY_POINTS,
    "library": QT_ROOTS | {f"{ROOT}.ui"} | ENTRY_POINTS,
    "ui": ENTRY_POINTS | {"torch"},
}
# What a UI module outside ui/jobs may take from the engine and the library: values that
# describe work (and the catalog, for quick reads and undoable edits in the GUI thread),
# never what does it.
UI_BRIDGE = f"{ROOT}.ui.jobs"
UI_VALUES: dict[str, set[str]] = {
    f"{ROOT}.engine.blend": {"AUTO_BRUSH", "Blend", "BlendError"},
    f"{ROOT}.engine.config": {
        "ConfigError",
        "METHODS",
        "PipelineConfig",
        "StyleSource",
        "TrainConfig",
    },
    f"{ROOT}.engine.imageio": {"IMAGE_EXTENSIONS"},
    f"{ROOT}.library.catalog": {"Catalog", "CatalogError"},
    f"{ROOT}.library.importer": {"DEFAULT_MAX_PIXELS", "ImportOptions", "ImportReport"},
    f"{ROOT}.library.records": {"Dataset", "IMAGE_FIELDS", "ImageRecord"},
}
WORKER_LAYERS = (f"{ROOT}.engine", f"{ROOT}.library")


def module_name(path: Path) -> str:
    """``ganstyle_desktop/ui/canvas.py`` -> ``ganstyle_desktop.ui.canvas``."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(path: Path) -> list[str]:
    """The package a module's relative imports start from."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1]  # a module's package; for __init__.py, the package itself


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PACKAGE.parent / rel).with_suffix(".py").is_file() or (
        PACKAGE.parent / rel / "__init__.py"
    ).is_file()


def imports(path: Path, source: str | None = None) -> list[tuple[str, str | None, int]]:
    """Every import in a module as (module, imported name or None, line).

    ``from a import b`` gives ("a", "b") and, when ``a.b`` is a module, ("a.b", None)
    too; ``import a.b`` gives ("a.b", None).
    """
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"))
    found: list[tuple[str, str | None, int]] = []

    def add_module(name: str, line: int) -> None:
        found.append((name, None, line))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add_module(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path)
                keep = len(package) - (node.level - 1)
                base_parts = package[: max(keep, 0)]
                if node.module:
                    base_parts = base_parts + node.module.split(".")
                base = ".".join(base_parts)
            else:
                base = node.module or ""
            add_module(base, node.lineno)
            for alias in node.names:
                if alias.name == "*":
                    found.append((base, "*", node.lineno))
                    continue
                found.append((base, alias.name, node.lineno))
                if _is_module(f"{base}.{alias.name}") or not base.startswith(ROOT):
                    add_module(f"{base}.{alias.name}", node.lineno)
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    add_module(first.value, node.lineno)
    return found


def _within(name: str, roots: set[str] | tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(root + ".") for root in roots)


def layer_offenders(path: Path, layer: str, source: str | None = None) -> list[str]:
    where = path.relative_to(PACKAGE)
    return [
        f"{where}:{line} imports {name}"
        for name, _item, line in imports(path, source)
        if _within(name, FORBIDDEN[layer])
    ]


def bridge_offenders(path: Path, source: str | None = None) -> list[str]:
    """Engine or library use by a UI module other than ui/jobs (values by name excepted)."""
    if _within(module_name(path), (UI_BRIDGE,)):
        return []
    where = path.relative_to(PACKAGE)
    found = imports(path, source)
    offenders = []
    for name, item, line in found:
        if not _within(name, WORKER_LAYERS):
            continue
        if item is None:
            # A bare module (import x.y / from x import y-the-module): allowed only as the
            # base of a "from value-module import Value" on the same line.
            named = [i for n, i, ln in found if n == name and ln == line and i is not None]
            if name in UI_VALUES and named:
                continue
            offenders.append(f"{where}:{line} imports the module {name} (only ui/jobs may)")
        elif item not in UI_VALUES.get(name, set()):
            offenders.append(f"{where}:{line} imports {name}.{item} (only ui/jobs may)")
    return offenders


# -- the contracts, on the real tree ---------------------------------------------------------


def _modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_go_one_way(layer: str) -> None:
    offenders = [o for path in _modules(layer) for o in layer_offenders(path, layer)]
    assert not offenders, "\n".join(offenders)


def test_only_ui_jobs_calls_the_engine_and_the_library() -> None:
    offenders = [o for path in _modules("ui") for o in bridge_offenders(path)]
    assert not offenders, "\n".join(offenders)


def test_the_ui_bridge_exists_and_is_used() -> None:
    """The exemption is for a real package: renaming it must not switch the check off."""
    assert (PACKAGE / "ui" / "jobs" / "__init__.py").is_file()
    engine_users = {
        module_name(p)
        for p in _modules("ui")
        if any(_within(name, WORKER_LAYERS) for name, _i, _l in imports(p))
    }
    assert any(_within(m, (UI_BRIDGE,)) for m in engine_users)


# -- the checker, on every import form --------------------------------------------------------

ENGINE_FILE = PACKAGE / "engine" / "stylize.py"
ENGINE_INIT = PACKAGE / "engine" / "__init__.py"
LIBRARY_FILE = PACKAGE / "library" / "catalog.py"
UI_FILE = PACKAGE / "ui" / "canvas.py"
UI_PANEL = PACKAGE / "ui" / "panels" / "blend_panel.py"

LAYER_FORMS = [
    # engine -> ui, every spelling
    (ENGINE_FILE, "engine", "import ganstyle_desktop.ui"),
    (ENGINE_FILE, "engine", "import ganstyle_desktop.ui.jobs as jobs"),
    (ENGINE_FILE, "engine", "from ganstyle_desktop import ui"),
    (ENGINE_FILE, "engine", "from ganstyle_desktop import paths, ui"),
    (ENGINE_FILE, "engine", "from ganstyle_desktop.ui.jobs import TrainingJob"),
    (ENGINE_FILE, "engine", "from .. import ui"),
    (ENGINE_FILE, "engine", "from ..ui import jobs"),
    (ENGINE_FILE, "engine", "from ..ui.jobs import TrainingJob"),
    (ENGINE_INIT, "engine", "from .. import ui"),
    (ENGINE_FILE, "engine", "def f():\n    from .. import ui\n"),
    (
        ENGINE_FILE,
        "engine",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import ui\n",
    ),
    (ENGINE_FILE, "engine", "import importlib\nimportlib.import_module('ganstyle_desktop.ui')"),
    (ENGINE_FILE, "engine", "__import__('ganstyle_desktop.ui.jobs')"),
    # engine -> library, -> Qt, -> entry points
    (ENGINE_FILE, "engine", "from .. import library"),
    (ENGINE_FILE, "engine", "from ganstyle_desktop.library.catalog import Catalog"),
    (ENGINE_FILE, "engine", "from PySide6 import QtCore"),
    (ENGINE_FILE, "engine", "from .. import cli"),
    # library -> ui
    (LIBRARY_FILE, "library", "from ganstyle_desktop import ui"),
    (LIBRARY_FILE, "library", "from .. import ui"),
    (LIBRARY_FILE, "library", "from ..ui.canvas import Canvas"),
    # ui -> cli (and app)
    (UI_FILE, "ui", "from ganstyle_desktop import cli"),
    (UI_FILE, "ui", "from .. import cli"),
    (UI_FILE, "ui", "from ..cli import main"),
    (UI_FILE, "ui", "from ..cli.stylize_cmd import run"),
    (UI_FILE, "ui", "import ganstyle_desktop.cli.stylize_cmd"),
    (UI_PANEL, "ui", "from ... import cli"),
    (UI_PANEL, "ui", "from ...cli import main"),
    (UI_FILE, "ui", "from .. import app"),
    (UI_FILE, "ui", "import torch"),
]

BRIDGE_FORMS = [
    (UI_FILE, "from ganstyle_desktop.engine.stylize import stylize_array"),
    (UI_FILE, "from ganstyle_desktop.engine import stylize"),
    (UI_FILE, "from ganstyle_desktop import engine"),
    (UI_FILE, "import ganstyle_desktop.engine.modelfile"),
    (UI_FILE, "from ..engine.modelfile import load_model"),
    (UI_FILE, "from ..engine import modelfile"),
    (UI_FILE, "from .. import engine"),
    (UI_PANEL, "from ...engine.blend import render_blend"),
    (UI_PANEL, "from ... import library"),
    (UI_FILE, "from ganstyle_desktop.engine.blend import Blend, render_blend"),
    (UI_FILE, "from ganstyle_desktop.library.importer import Importer"),
    (UI_FILE, "def f():\n    from ganstyle_desktop.library.thumbnails import ensure_thumbnail\n"),
    (UI_FILE, "import importlib\nimportlib.import_module('ganstyle_desktop.engine.stylize')"),
]


@pytest.mark.parametrize(("path", "layer", "source"), LAYER_FORMS)
def test_the_checker_catches_every_import_form(path: Path, layer: str, source: str) -> None:
    assert layer_offenders(path, layer, source), f"not caught in {path.name}: {source!r}"


@pytest.mark.parametrize(("path", "source"), BRIDGE_FORMS)
def test_the_checker_catches_engine_use_outside_ui_jobs(path: Path, source: str) -> None:
    assert bridge_offenders(path, source), f"not caught in {path.name}: {source!r}"


@pytest.mark.parametrize(
    ("path", "source"),
    [
        (UI_FILE, "from ganstyle_desktop.engine.blend import Blend"),
        (UI_FILE, "from ..engine.config import TrainConfig, ConfigError"),
        (UI_FILE, "from ganstyle_desktop import paths"),
        (UI_FILE, "from .jobs import StylizeJob"),
        (UI_FILE, "from ..library.records import Dataset"),
        (PACKAGE / "ui" / "jobs" / "images.py", "from ganstyle_desktop.engine import stylize"),
    ],
)
def test_the_checker_lets_values_and_the_bridge_through(path: Path, source: str) -> None:
    assert not bridge_offenders(path, source)
    assert not layer_offenders(path, "ui", source)
