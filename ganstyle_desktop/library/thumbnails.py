"""Thumbnails cached on disk as ``thumbs/<sha>_<size>.jpg``, made on demand, upright.

Safe to call from several threads at once: each thumbnail is written atomically, so two
threads making the same one just race to an identical file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PIL import Image, ImageOps

from ganstyle_desktop.engine.atomic import write_with_atomic
from ganstyle_desktop.engine.imageio import ImageLoadError, open_image, to_rgb

log = logging.getLogger(__name__)

THUMB_MAX_PIXELS = None  # the image gate's one limit (imageio.pixel_limit)


def thumbnail_path(workspace: Path | str, sha256: str, size: int) -> Path:
    return Path(workspace) / "thumbs" / f"{sha256}_{size}.jpg"


def ensure_thumbnail(workspace: Path | str, sha256: str, size: int) -> Path:
    """The cached thumbnail (longer side ``size``), making it from the stored original.

    Raises ImageLoadError when the original is missing or cannot be decoded.
    """
    target = thumbnail_path(workspace, sha256, size)
    if target.is_file():
        return target
    source = Path(workspace) / "objects" / sha256[:2] / sha256[2:]
    if not source.is_file():
        raise ImageLoadError(source, "the stored original is missing (run `library check`)")
    im = _open_small(source, size)
    im.thumbnail((size, size), Image.Resampling.LANCZOS)
    rgb = to_rgb(im)
    write_with_atomic(
        target, lambda tmp: rgb.save(tmp, "JPEG", quality=85), suffix=".jpg", clean_stale=False
    )
    return target


def _open_small(source: Path, size: int) -> Image.Image:
    try:
        with Image.open(source) as im:
            if im.format in ("JPEG", "MPO"):
                # draft() makes the JPEG decoder scale by 1/2..1/8: much faster for big scans.
                im.draft("RGB", (size, size))
                im.load()
                upright = ImageOps.exif_transpose(im)
                return upright if upright is not None else im.copy()
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageLoadError(source, f"cannot make a thumbnail ({exc})") from exc
    return open_image(source, max_pixels=THUMB_MAX_PIXELS)
