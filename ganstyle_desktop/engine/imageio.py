"""Reading images the way artists hand them to us: any mode, any orientation, bad files.

This module is the one gate every image passes, whoever reads it: the library's importer
(from bytes, :func:`decode_image`), training and stylizing (from files, :func:`open_image`).
The gate opens regular files only (never blocking on a FIFO), accepts JPEG, PNG, WebP,
TIFF, BMP and GIF, checks the size on the header before a pixel is decoded (one pixel
limit, :func:`pixel_limit`, and at least ``MIN_SIDE`` x ``MIN_SIDE`` px), takes the first
page of a multi-page file, and then decodes it fully: a decoder error is never swallowed,
so what the importer accepts, training can read.

Every loader applies EXIF orientation and converts CMYK, palette, 16-bit, greyscale and
alpha images to 8-bit RGB (alpha composited on white). A file that cannot be used raises
:class:`ImageLoadError` whose message names the file and the reason, so callers can skip it
and carry on.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .fileguard import UnreadableFile, describe_os_error, open_regular_file, printable

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp"})
# The decoders the gate lets Pillow try (multi-picture JPEGs, "MPO", arrive through JPEG).
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF")
# The pixel limit (a decompression-bomb guard; a 100 MP camera is well below it). One
# limit for import, training and stylizing; GANSTYLE_MAX_PIXELS or set_pixel_limit()
# changes it.
DEFAULT_MAX_PIXELS = 200_000_000
MAX_PIXELS_ENV = "GANSTYLE_MAX_PIXELS"
MIN_SIDE = 16  # smaller images have nothing to learn from and break the networks' padding
MAX_ASPECT = 100  # longer and thinner: a strip, not a picture (and a memory trap when scaled)
_SIXTEEN_BIT_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}

log = logging.getLogger(__name__)


class ImageLoadError(Exception):
    """An image could not be used. ``str()`` reads "<file>: <reason>"."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{printable(self.path.name)}: {reason}")


def collect_image_files(sources: Iterable[Path | str]) -> list[Path]:
    """Image files in ``sources`` (files or folders, searched recursively), sorted.

    Hidden files and folders (".thumbnails", "._x.jpg" from macOS) are left out.
    """
    found: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        # Overlapping sources (a folder and a file inside it) must not double a file.
        try:
            key = p.resolve()
        except (OSError, RuntimeError):  # a symbolic link loop
            key = p.absolute()
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
                # Not is_file(): a FIFO or a link loop with an image's name is listed, so
                # the reader refuses it with its reason instead of a silent skip.
                if p.suffix.lower() in IMAGE_EXTENSIONS and not p.is_dir():
                    add(p)
        elif source.is_file() or source.is_symlink() or os.path.lexists(source):
            add(source)  # the reader gives the reason a link loop or FIFO cannot be used
        else:
            raise FileNotFoundError(f"{source}: no such file or folder")
    return found


# -- the one pixel limit ------------------------------------------------------------------

_configured_limit: int | None = None


def pixel_limit() -> int:
    """The pixel limit every reader applies: :func:`set_pixel_limit`, else the
    ``GANSTYLE_MAX_PIXELS`` environment variable, else ``DEFAULT_MAX_PIXELS``."""
    if _configured_limit is not None:
        return _configured_limit
    text = os.environ.get(MAX_PIXELS_ENV, "").replace("_", "").replace(",", "")
    if text:
        try:
            value = int(text)
            if value > 0:
                return value
        except ValueError:
            pass
        log.warning("ignoring %s=%r: not a positive whole number", MAX_PIXELS_ENV, text)
    return DEFAULT_MAX_PIXELS


def set_pixel_limit(pixels: int | None) -> None:
    """Set the limit for this process (None: back to the environment or the default)."""
    global _configured_limit
    if pixels is not None and pixels < 1:
        raise ValueError(f"the pixel limit must be positive, not {pixels}")
    _configured_limit = pixels
    _let_our_limit_decide(pixel_limit())


def _let_our_limit_decide(limit: int) -> None:
    # Pillow refuses images over twice its MAX_IMAGE_PIXELS in Image.open itself, before
    # the gate sees the size; keep that hard stop at twice our limit, so ours decides (and
    # names the size) up to there. Its warning is silenced in the gate.
    current = Image.MAX_IMAGE_PIXELS
    if current is not None and current < limit:
        Image.MAX_IMAGE_PIXELS = limit


_let_our_limit_decide(pixel_limit())


def size_problem(width: int, height: int, max_pixels: int | None = None) -> str:
    """Why an image of ``width`` x ``height`` cannot be used ("" when it can)."""
    limit = pixel_limit() if max_pixels is None else max_pixels
    if width < 1 or height < 1:
        return f"the image has no pixels ({width} x {height})"
    if width * height > limit:
        return (
            f"{width}x{height} pixels is over the limit of {limit:,} (a possible "
            f"decompression bomb, refused before decoding); raise the limit "
            f"({MAX_PIXELS_ENV} or the app's settings) if the image is genuine"
        )
    if min(width, height) < MIN_SIDE:
        return f"{width} x {height} px is too small: images must be at least {MIN_SIDE} x {MIN_SIDE} px"
    if max(width, height) > MAX_ASPECT * min(width, height):
        return (
            f"{width} x {height} px is too long and thin (more than {MAX_ASPECT}:1); crop it "
            "to a picture first"
        )
    return ""


# -- decoding -------------------------------------------------------------------------------


@dataclass
class DecodedImage:
    """A fully decoded first page, as stored (not yet turned upright)."""

    image: Image.Image
    format: str
    width: int  # as the header declares (a drafted JPEG decodes smaller)
    height: int
    orientation: int = 1  # EXIF orientation, 1 to 8
    multipage: bool = False
    notes: list[str] = field(default_factory=list)  # decoder warnings


def decode_image(
    source: bytes | BinaryIO,
    name: Path | str = "image",
    *,
    max_pixels: int | None = None,
    draft: tuple[int, int] | None = None,
) -> DecodedImage:
    """Check and fully decode the first page of an image; ImageLoadError with the reason.

    ``source`` is the file's bytes or an open binary file. ``draft`` lets a JPEG decode at
    a reduced scale (every block is still read and checked). Any error a decoder raises
    becomes a refusal: nothing passes this gate that cannot be read.
    """
    fh = BytesIO(source) if isinstance(source, bytes | bytearray | memoryview) else source
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            decoded = _decode(fh, max_pixels, draft)
    except ImageLoadError as exc:
        raise ImageLoadError(name, exc.reason) from exc.__cause__
    except UnreadableFile as exc:
        raise ImageLoadError(name, exc.reason) from exc
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(
            name,
            f"too many pixels: over the limit of {pixel_limit():,}, refused as a possible "
            f"decompression bomb ({exc})",
        ) from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError(
            name,
            "not an image Pillow can read: its contents are not JPEG, PNG, WebP, TIFF, BMP "
            "or GIF (wrong extension or a damaged header)",
        ) from exc
    except MemoryError as exc:
        raise ImageLoadError(name, "too large to decode in the memory available") from exc
    except OSError as exc:
        if exc.errno is not None:  # the disk, not the data
            raise ImageLoadError(name, describe_os_error(exc)) from exc
        raise ImageLoadError(name, f"damaged or truncated image data ({exc})") from exc
    except (SyntaxError, ValueError, EOFError) as exc:
        raise ImageLoadError(name, f"damaged or truncated image data ({exc})") from exc
    except Exception as exc:  # a malformed file can trip any decoder; never crash a caller
        raise ImageLoadError(
            name, f"damaged or truncated image data ({type(exc).__name__}: {exc})"
        ) from exc
    for message in dict.fromkeys(str(w.message).strip() for w in caught):
        if len(decoded.notes) < 6:
            decoded.notes.append(f"decoder warning: {message}")
    return decoded


def _decode(fh: BinaryIO, max_pixels: int | None, draft: tuple[int, int] | None) -> DecodedImage:
    im = Image.open(fh, formats=ACCEPTED_FORMATS)
    try:
        fmt = im.format or ""
        width, height = im.size
        problem = size_problem(width, height, max_pixels)
        if problem:
            raise ImageLoadError("image", problem)
        multipage = _is_multipage(im)
        if draft is not None and fmt in ("JPEG", "MPO"):
            im.draft("RGB", draft)  # DCT scaling: every block is still decoded
        im.load()  # the full decode; its errors are the file's, never swallowed
        orientation = _orientation(im)
    except BaseException:
        im.close()
        raise
    return DecodedImage(im, fmt, width, height, orientation, multipage)


def _is_multipage(im: Image.Image) -> bool:
    """Whether later pages or frames exist (never counted: only the first is read)."""
    try:
        many = bool(getattr(im, "is_animated", False))
    except Exception:  # a damaged later frame: the first one may still be fine
        many = False
    if im.tell() != 0:
        im.seek(0)
    return many


def _orientation(im: Image.Image) -> int:
    try:  # after load(): reading EXIF can no longer hide a decoder error
        value = int(im.getexif().get(0x0112, 1))
    except Exception:  # a corrupt EXIF block must not sink an otherwise good image
        return 1
    return value if 1 <= value <= 8 else 1


def open_image(path: Path | str, max_pixels: int | None = None) -> Image.Image:
    """Open, check, fully decode and upright an image; raises ImageLoadError with the
    reason. ``max_pixels`` sets the limit for this call (None, the default: the one limit
    every reader shares, :func:`pixel_limit`)."""
    path = Path(path)
    try:
        fh = open_regular_file(path)
    except UnreadableFile as exc:
        raise ImageLoadError(path, exc.reason) from exc
    with fh:
        try:
            empty = os.fstat(fh.fileno()).st_size == 0
        except OSError as exc:
            raise ImageLoadError(path, describe_os_error(exc)) from exc
        if empty:
            raise ImageLoadError(path, "the file is empty (0 bytes)")
        decoded = decode_image(fh, path, max_pixels=max_pixels)
    im = decoded.image
    # exif_transpose returns a new, detached image; copy() detaches the unrotated case
    # from the file the with-block closed.
    upright = _upright(im, path)
    return upright if upright is not None else im.copy()


def _upright(im: Image.Image, path: Path) -> Image.Image | None:
    """EXIF-rotated copy; damaged EXIF costs the rotation, not the image."""
    try:
        return ImageOps.exif_transpose(im)
    except Exception as exc:  # struct.error, KeyError, TypeError, ... from odd EXIF
        log.warning("%s: unreadable EXIF orientation ignored (%s)", printable(path.name), exc)
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


def load_rgb(path: Path | str, max_pixels: int | None = None) -> Image.Image:
    """An upright 8-bit RGB copy of the image at ``path`` (ImageLoadError on failure)."""
    im = open_image(path, max_pixels=max_pixels)
    try:
        return to_rgb(im)
    except MemoryError as exc:
        raise ImageLoadError(path, "too large to convert in the memory available") from exc
    except Exception as exc:  # an odd mode a decoder produced: refuse, never crash
        raise ImageLoadError(path, f"cannot convert {im.mode} image to RGB ({exc})") from exc
