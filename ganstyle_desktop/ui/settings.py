"""The app's QSettings: one place that decides where choices and window layout are kept.

``GANSTYLE_CONFIG_DIR`` puts the settings in an INI file inside that folder, so tests and
portable installs never touch the user's real settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

ORGANIZATION = "GANStyle"
APPLICATION = "GANStyle Desktop"


def app_settings() -> QSettings:
    override = os.environ.get("GANSTYLE_CONFIG_DIR")
    if override:
        folder = Path(override)
        folder.mkdir(parents=True, exist_ok=True)
        return QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def reset_settings() -> None:
    settings = app_settings()
    settings.clear()
    settings.sync()


def setting_bool(key: str, default: bool) -> bool:
    """QSettings hands INI booleans back as strings; read them as people mean them."""
    value = app_settings().value(key, default)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def last_folder(kind: str) -> str:
    """The folder last used for ``kind`` (photos, models, export, ...), or home."""
    value = app_settings().value(f"folders/{kind}", "")
    if value and Path(str(value)).is_dir():
        return str(value)
    return str(Path.home())


def remember_folder(kind: str, path: str | Path) -> None:
    p = Path(path)
    app_settings().setValue(f"folders/{kind}", str(p if p.is_dir() else p.parent))


# The largest image (in pixels) the app opens, imports or trains on: a guard against
# decompression bombs that a person can raise for a genuine large scan (Preferences).
PIXEL_LIMIT_KEY = "library/max_pixels"


def pixel_limit_setting() -> int | None:
    """The pixel limit the person chose, or None for the engine's default."""
    value = app_settings().value(PIXEL_LIMIT_KEY, None)
    if value is None or value == "":
        return None
    try:
        pixels = int(value)
    except (TypeError, ValueError):
        return None
    return pixels if pixels > 0 else None
