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
