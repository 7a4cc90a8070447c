"""The wheel ships every package folder, the shipped resources and the starter models."""

from __future__ import annotations

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_package_folder_is_listed() -> None:
    listed = set(_pyproject()["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "ganstyle_desktop").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    missing = sorted(on_disk - listed)
    assert not missing, f"add these packages to [tool.setuptools] packages: {missing}"


def test_shipped_folders_are_mapped_into_the_package() -> None:
    mapping = _pyproject()["tool"]["setuptools"]["package-dir"]
    assert mapping["ganstyle_desktop._resources"] == "resources"
    assert mapping["ganstyle_desktop._models"] == "models"


def test_paths_find_the_shipped_folders_in_a_checkout() -> None:
    from ganstyle_desktop import paths

    assert paths.resources_dir().resolve() == (ROOT / "resources").resolve()
    assert paths.starter_models_dir().resolve() == (ROOT / "models").resolve()
    assert (paths.resources_dir() / "samples").is_dir()
