"""Reading images the way artists hand them to us: any mode, any orientation, bad files.

Every loader applies EXIF orientation and converts CMYK, palette, 16-bit, greyscale and
alpha images to 8-bit RGB (alpha composited on white). A file that cannot be used raises
:class:`ImageLoadError` whose message names the file and the reason, so callers can skip it
and carry on.
"""

from __future__ import annotations

import logging
import struct
import warnings
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"})
DEFAULT_MAX_PIXELS = 200_000_000  # decompression-bomb guard; a 50 MP photo is far below

log = logging.getLogger(__name__)


class ImageLoadError(Exception):
    """An image could not be used. ``str()`` reads "<file>: <reason>"."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


def collect_image_files(sources: Iterable[Path | str]) -> list[Path]:
    """Image files in ``sources`` (files or folders, searched recursively), sorted.

    Hidden files and folders (".thumbnails", "._x.jpg" from macOS) are left out.
    """
    found: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        # Overlapping sources (a folder and a file inside it) must not double a file.
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            found.append(p)

    for source in sources:
        source = Path(source)
        if source.is_dir():
            for p in sorted(source.rglob("*")):
                rel = p.relative_to(source)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS:
                    add(p)
        elif source.is_file():
            add(source)
        else:
            raise FileNotFoundError(f"{source}: no such file or folder")
    return found


def open_image(path: Path | str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open, fully decode and upright an image; raises ImageLoadError with the reason."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageLoadError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if size == 0:
        raise ImageLoadError(path, "the file is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            # ``max_pixels`` below is the limit; Pillow's own warning threshold (89 MP)
            # would otherwise refuse genuine large scans that the caller allowed.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if max_pixels is not None and im.width * im.height > max_pixels:
                    raise ImageLoadError(
                        path,
                        f"{im.width}x{im.height} pixels is over the limit of "
                        f"{max_pixels:,} (a possible decompression bomb); raise the limit "
                        "in settings if the image is genuine",
                    )
                if getattr(im, "is_animated", False):
                    im.seek(0)  # animated: use the first frame
                im.load()
                # exif_transpose returns a new, detached image; copy() detaches the
                # unrotated case from the file handle the with-block closes.
                upright = _upright(im, path)
                return upright if upright is not None else im.copy()
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(
            path, f"too many pixels, refused as a decompression bomb ({exc})"
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError(
            path, "not an image Pillow can read (wrong extension or corrupt header)"
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageLoadError(path, f"damaged or truncated image data ({exc})") from exc
    except MemoryError as exc:
        raise ImageLoadError(path, "too large to decode in the memory available") from exc


def _upright(im: Image.Image, path: Path) -> Image.Image | None:
    """EXIF-rotated copy; damaged EXIF costs the rotation, not the image."""
    try:
        return ImageOps.exif_transpose(im)
    except (struct.error, KeyError, TypeError, ValueError, SyntaxError, OSError) as exc:
        log.warning("%s: unreadable EXIF orientation ignored (%s)", path.name, exc)
        return None


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB; transparency is composited on white."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float64)
        # 16-bit modes span 0..65535 even when an image is dark; only 32-bit "I" (which
        # some readers use for 8-bit data) is scaled by what it holds.
        if im.mode.startswith("I;16"):
            peak = 65535.0
        else:
            peak = 65535.0 if arr.max(initial=0) > 255 else 255.0
        grey = np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(arr.min(initial=0)), float(arr.max(initial=1))
        grey = np.clip((arr - lo) / max(hi - lo, 1e-12) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if im.mode == "CMYK":
        return im.convert("RGB")
    return im.convert("RGB")


def load_rgb(path: Path | str, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Image.Image:
    """An upright 8-bit RGB copy of the image at ``path`` (ImageLoadError on failure)."""
    im = open_image(path, max_pixels=max_pixels)
    try:
        return to_rgb(im)
    except (OSError, ValueError) as exc:
        raise ImageLoadError(path, f"cannot convert {im.mode} image to RGB ({exc})") from exc
