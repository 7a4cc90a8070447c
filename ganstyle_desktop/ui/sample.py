"""The sample workspace a new user starts in: a real photo a dependency ships
(scikit-image's coffee cup, CC0; see ``paths.DEPENDENCY_PHOTOS``), or, when that is not
installed, a photo the project renders itself (tools/make_sample_photo.py); and the app icon
(packaging/make_icons.py renders it from the SVG source)."""

from __future__ import annotations

from pathlib import Path

from ganstyle_desktop import paths


def sample_photo_path() -> Path:
    photos = paths.sample_photos()
    if photos:
        return photos[0][0]
    return paths.resources_dir() / "samples" / "sample_landscape.jpg"


def app_icon_path() -> Path:
    return paths.resources_dir() / "icons" / "ganstyle-256.png"
