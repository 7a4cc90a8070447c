"""Where things live: shipped resources and starter models, the user's data and config.

No Qt here so the CLI and the library share it. Shipped folders are found inside the
installed package (wheel or bundle: ``ganstyle_desktop/_resources``, ``_models``) or,
in a source checkout, at the repository's top-level ``resources/`` and ``models/``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "GANStyle"
_PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped(dirname: str) -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)  # PyInstaller bundle
    candidates = []
    if frozen_root:
        candidates.append(Path(frozen_root) / dirname)
    candidates += [_PACKAGE_DIR / f"_{dirname}", _PACKAGE_DIR.parent / dirname]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[-1]


def resources_dir() -> Path:
    return _shipped("resources")


def starter_models_dir() -> Path:
    return _shipped("models")


# Real photos a dependency ships (scikit-image's sample data: public domain or CC0, see
# each photo's docstring in skimage.data). Found without importing scikit-image (it is slow
# to import and the app needs none of its code). Name, caption, licence.
DEPENDENCY_PHOTOS = (
    ("coffee.png", "Coffee cup (Rachel Michetti)", "CC0"),
    ("chelsea.png", "Chelsea the cat (Stefan van der Walt)", "CC0"),
    ("astronaut.png", "Astronaut Eileen Collins (NASA)", "public domain"),
    ("rocket.jpg", "Falcon 9 launching DSCOVR (SpaceX)", "public domain"),
)


def dependency_photos_dir() -> Path | None:
    """The folder holding :data:`DEPENDENCY_PHOTOS` (scikit-image's data folder, or the
    copy a desktop bundle carries), or None when it is not installed."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root and (Path(frozen_root) / "sample_photos").is_dir():
        return Path(frozen_root) / "sample_photos"
    import importlib.util

    try:
        spec = importlib.util.find_spec("skimage")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    return folder if (folder / DEPENDENCY_PHOTOS[0][0]).is_file() else None


def sample_photos() -> list[tuple[Path, str, str]]:
    """(file, caption, licence) of the real sample photos that are installed."""
    folder = dependency_photos_dir()
    if folder is None:
        return []
    return [(folder / n, c, lic) for n, c, lic in DEPENDENCY_PHOTOS if (folder / n).is_file()]


def priors_dir() -> Path:
    """Frozen pretrained networks the engine uses (not models a person picks)."""
    return resources_dir() / "priors"


def user_data_dir() -> Path:
    """Models, workspaces and runs the user makes. ``GANSTYLE_DATA_DIR`` overrides."""
    override = os.environ.get("GANSTYLE_DATA_DIR")
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / APP_NAME


def user_models_dir() -> Path:
    return user_data_dir() / "models"


def default_workspace_dir() -> Path:
    return user_data_dir() / "workspace"


def runs_dir() -> Path:
    return user_data_dir() / "runs"


def trash_dir() -> Path:
    return user_data_dir() / "trash"
